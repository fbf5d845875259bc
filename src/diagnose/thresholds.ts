/**
 * The numbers diagnose compares with: the defaults of the alerts in alerts/tcpstate.rules.yml
 * (each marked "# TUNE:" there; the reasons are in the tuning table of docs/runbooks.md). Keep
 * them equal: test/diagnose/thresholds.test.ts reads the rules file and fails when they differ.
 *
 * diagnose looks at one moment (two, --diagnose.interval apart), so the rules' `for:` durations
 * and windows cannot apply. `sustained` says, for the report, how long the alert waits.
 */
export const THRESHOLDS = {
  /**
   * TCPSynFlood: a port's SYN_RECV above `portBacklogShare` of its own backlog; or more SYN cookies
   * per second than `cookiesPerSecond`; or SYN_RECV above `backlogShare` of tcp_max_syn_backlog with drops.
   */
  synFlood: { portBacklogShare: 0.25, cookiesPerSecond: 10, backlogShare: 0.25, sustained: 'for 1m' },
  /** TCPSynQueueDrops: any SYN dropped on a full SYN queue (TCPReqQFullDrop/s above this). */
  synQueueDrops: { perSecond: 0, sustained: 'for 10m' },
  /** TCPListenQueueOverflow: accept queue above this share of its backlog; overflows/s above `perSecond`. */
  listenQueue: { queueShare: 0.8, perSecond: 0, sustained: 'for 10m' },
  /** TCPCloseWaitLeak: at least this many CLOSE_WAIT sockets on a port, and not draining. */
  closeWait: { floor: 20, sustained: 'at or above the floor for 10m, then for 5m' },
  /** TCPEphemeralPortExhaustion: a destination's share of ip_local_port_range (each of the busiest few). */
  ephemeralPorts: { warningShare: 0.7, criticalShare: 0.9, sustained: 'for 10m (warning), for 5m (critical)' },
  /** TCPTimeWaitBucketsOverflow: TIME_WAIT sockets destroyed early per second, above this. */
  timeWaitOverflow: { perSecond: 0, sustained: 'for 5m' },
  /** TCPOrphanSocketsHigh: orphans above this share of tcp_max_orphans. */
  orphans: { limitShare: 0.5, sustained: 'for 10m' },
  /** TCPMemoryPressure: TCP memory above `pressureShare` of the pressure threshold (warning) or `highShare` of high (critical). */
  tcpMemory: { pressureShare: 1, highShare: 0.9, sustained: 'for 5m (warning), for 2m (critical)' },
  /** TCPRetransmissionRateHigh: retransmitted/sent segments above `share`, with more than `minSentPerSecond` sent. */
  retransmissions: { share: 0.03, minSentPerSecond: 100, sustained: 'for 15m' },
  /**
   * TCPResetStorm: RSTs sent/s above `floorPerSecond`. The alert also wants more than 5 times this
   * host's median of the last day, which one look cannot know; the report says so.
   */
  resets: { floorPerSecond: 10, baselineFactor: 5, sustained: 'for 10m, and 5 times the host\'s median of the last day' },
  /** TCPSyncookiesDisabled (info): net.ipv4.tcp_syncookies equal to this. */
  syncookies: { disabledValue: 0, sustained: 'for 30m' },
  /** TCPHalfOpenConnections: more sockets than this with unanswered keepalive probes. */
  halfOpen: { probingSockets: 100, sustained: 'for 15m' },
  /**
   * No alert. Worst-case keepalive detection time above which the report mentions it (info):
   * stateful middleboxes drop idle connections after 4 to 10 minutes (docs/runbooks.md,
   * TCPHalfOpenConnections), and the runbook's suggested settings (300 + 30 x 5) detect in 450 s.
   */
  keepalive: { detectionSeconds: 600 },
  /**
   * TCPUpstreamRetransmissionRateHigh (tcpinfo collector, direction="remote"): the live sockets'
   * retransmitted segments grow faster than `share` of their sent segments (deriv over 10m), with
   * more than `minSentPerSecond` segments/s sent to the port and at least `minSockets` sockets.
   */
  upstreamRetransmissions: { share: 0.02, minSentPerSecond: 50, minSockets: 5, sustained: 'deriv over 10m, then for 10m' },
  /**
   * TCPUpstreamRTTHigh (tcpinfo collector, direction="remote"): the median RTT to an upstream port
   * above `factor` times its median of the last day and above `floorSeconds`, over at least
   * `minSockets` sockets. One look cannot know the day's median; the report says so.
   */
  upstreamRtt: { factor: 3, floorSeconds: 0.001, minSockets: 5, sustained: "for 10m, and 3 times the port's median of the last day" },
  /**
   * TCPListenerLossRecovery (tcpinfo collector, direction="local"): on average over 5m, more than
   * `share` of a listener's ESTABLISHED sockets in ca_state recovery or loss, and at least `minSockets` of them.
   */
  listenerLossRecovery: { share: 0.1, minSockets: 10, sustained: 'averaged over 5m, then for 10m' },
  /** TCPStateCollectorFailing: a collector that fails; diagnose sees one or two tries, not 15m. */
  collectors: {
    /** The alert fires when a collector's success share over 15m is below this (the dashboard colours by it). */
    successShare: 0.5,
    sustained: 'in most scrapes over 15m (success below 50%), then for 5m',
  },
} as const;
