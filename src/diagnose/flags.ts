import { choiceFlag, numberFlag } from '../config/flag.js';

/** Longer waits are almost always a unit mistake (milliseconds); a trend belongs on the dashboard. */
const MAX_DIAGNOSE_INTERVAL_SECONDS = 600;

/** Flags of the `diagnose` subcommand alone. */
export const DIAGNOSE_FLAGS = {
  intervalSeconds: numberFlag('diagnose.interval', {
    help: 'seconds between the two snapshots that turn counters into rates; 0 takes one snapshot, without rates',
    default: 5,
    min: 0,
    max: MAX_DIAGNOSE_INTERVAL_SECONDS,
    unit: 'seconds',
    hint: '0 = one snapshot, no rates',
    example: '1.5',
  }),
  format: choiceFlag('diagnose.format', { help: 'report format', choices: ['text', 'json'] as const, default: 'text', example: 'json' }),
};
