import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKSPACE_ROOT, spawnApp } from './processes';

describe('spawnApp with STACK_CPU_PROF', () => {
  const saved = { apps: process.env.STACK_CPU_PROF, dir: process.env.STACK_CPU_PROF_DIR };
  let dir: string;
  let entry: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cpu-prof-'));
    // An entry point inside the workspace, as the apps' are (the dev loader compiles it).
    entry = path.join(WORKSPACE_ROOT, 'tmp', `cpu-prof-probe-${process.pid}.ts`);
    mkdirSync(path.dirname(entry), { recursive: true });
    writeFileSync(entry, 'const n: number = [1, 2, 3].reduce((a, b) => a + b, 0);\nprocess.exitCode = n === 6 ? 0 : 1;\n');
    process.env.STACK_CPU_PROF_DIR = dir;
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(entry, { force: true });
    for (const [name, value] of [['STACK_CPU_PROF', saved.apps], ['STACK_CPU_PROF_DIR', saved.dir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('profiles the apps it names, into a folder per app, and no other', async () => {
    process.env.STACK_CPU_PROF = 'api-gateway, probe';
    expect(await spawnApp('probe', entry, {}).exited).toBe(0);
    expect(await spawnApp('calls-service', entry, {}).exited).toBe(0);
    expect(readdirSync(path.join(dir, 'probe'))).toEqual([expect.stringMatching(/\.cpuprofile$/)]);
    expect(existsSync(path.join(dir, 'calls-service'))).toBe(false);
  });

  it('profiles every app with `all`, none without the variable', async () => {
    process.env.STACK_CPU_PROF = 'all';
    expect(await spawnApp('probe', entry, {}).exited).toBe(0);
    expect(readdirSync(path.join(dir, 'probe'))).toHaveLength(1);
    delete process.env.STACK_CPU_PROF;
    expect(await spawnApp('other', entry, {}).exited).toBe(0);
    expect(existsSync(path.join(dir, 'other'))).toBe(false);
  });
});
