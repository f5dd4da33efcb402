import path from 'node:path';
import { FIXTURE_QUEUES } from '../dialplan/dialplan';
import type { SimulatorConfig } from '../simulator';

const FIXTURES = path.resolve(__dirname, '../../fixtures/ami');

/**
 * The PBX of the first lab (fixtures 00–22): its own dial plan (`dialplan-used.conf`) and queue,
 * no trunk, CEL on and `read = all` (`manager.conf.used`). Tests of the generic engine use it.
 */
export const FIRST_LAB: Partial<SimulatorConfig> = {
  dialplanFile: path.join(FIXTURES, 'dialplan-used.conf'),
  pjsipFile: '',
  queues: FIXTURE_QUEUES,
  cel: true,
  amiRead: 'all',
};

/** The PBX of the second lab (fixtures 30–38): docker/asterisk as of 19b5d72 (its extensions.conf, today's pjsip.conf and manager.conf). */
export const SECOND_LAB: Partial<SimulatorConfig> = {
  dialplanFile: path.join(FIXTURES, 'extensions-30-38.conf'),
  cel: false,
  amiRead: 'system,call,cdr,dialplan,agent,reporting',
};
