import { cgroupCollector } from './cgroup.js';
import type { Collector } from './collector.js';
import { netnsCollector } from './netns.js';
import { netstatCollector } from './netstat.js';
import { processCollector } from './process.js';
import { socketsCollector } from './sockets.js';
import { sockstatCollector } from './sockstat.js';
import { sysctlCollector } from './sysctl.js';
import { tcpinfoCollector } from './tcpinfo.js';

/** Every collector, in the order their flags are listed. Adding one means adding it here. */
export const COLLECTORS: readonly Collector[] = [socketsCollector, sockstatCollector, netstatCollector, sysctlCollector, cgroupCollector, processCollector, netnsCollector, tcpinfoCollector];
