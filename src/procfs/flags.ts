import { stringFlag } from '../config/flag.js';

export const PROCFS_FLAGS = {
  path: stringFlag('path.procfs', {
    help: "procfs mountpoint; point it at the host's /proc from a container",
    default: '/proc',
    defaultText: '/proc',
    valueName: '<path>',
    example: '/host/proc',
    check: (path) => (path === '' ? 'must not be empty' : undefined),
  }),
};
