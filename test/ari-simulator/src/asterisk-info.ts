// GET /asterisk/info, shaped like the 22.10.1 recording.

import { ariTime } from './ari-format.js';
import type { SimState } from './sim-state.js';

const startedAt = ariTime();

export function asteriskInfo(state: SimState): Record<string, unknown> {
  return {
    build: { os: 'Linux', kernel: '6.1.0', machine: 'x86_64', options: 'OPTIONAL_API', date: startedAt, user: 'root' },
    system: { version: '22.10.1', entity_id: state.asteriskId },
    config: { name: '', default_language: 'en', setid: { user: '', group: '' }, max_open_files: 8192 },
    status: { startup_time: startedAt, last_reload_time: startedAt },
  };
}
