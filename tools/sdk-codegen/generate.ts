/**
 * npm run sdk:generate — writes libs/sdk/src/generated/operations.ts from the api-gateway's OpenAPI
 * document (the one GET /docs/openapi.json serves).
 *   --check         exit 1 when the checked-in file differs (CI, and the agreement test)
 *   --from <url>    read a served document instead, e.g. http://127.0.0.1:3000/docs/openapi.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// The generator is a build-time tool: it reads the gateway's own document builder (not shipped with the SDK).
// eslint-disable-next-line @nx/enforce-module-boundaries
import { servedOpenApiDocument } from '../../apps/api-gateway/src/docs/served-document';
import { generateOperationsModule } from './codegen';

export const GENERATED_FILE = path.join(__dirname, '../../libs/sdk/src/generated/operations.ts');

/** The generated module for the document this checkout serves. */
export const generateFromServedDocument = () => generateOperationsModule(servedOpenApiDocument());

async function main(argv: string[]): Promise<number> {
  const fromIndex = argv.indexOf('--from');
  let source: string;
  if (fromIndex >= 0) {
    const from = argv[fromIndex + 1];
    if (!from) throw new Error('--from needs a URL or a file');
    const doc = /^https?:/.test(from) ? await (await fetch(from)).json() : JSON.parse(readFileSync(from, 'utf8'));
    source = generateOperationsModule(doc);
  } else {
    source = generateFromServedDocument();
  }
  const current = (() => {
    try {
      return readFileSync(GENERATED_FILE, 'utf8');
    } catch {
      return '';
    }
  })();
  if (argv.includes('--check')) {
    if (current === source) {
      console.log('sdk: libs/sdk/src/generated/operations.ts matches the OpenAPI document');
      return 0;
    }
    console.error('sdk: libs/sdk/src/generated/operations.ts is out of date: run `npm run sdk:generate`');
    return 1;
  }
  if (current === source) console.log('sdk: operations.ts already up to date');
  else {
    writeFileSync(GENERATED_FILE, source);
    console.log(`sdk: wrote ${path.relative(process.cwd(), GENERATED_FILE)}`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`sdk:generate: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
