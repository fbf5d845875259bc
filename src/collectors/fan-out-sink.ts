import type { SocketRecord, SocketSink } from '../kernel/socket-record.js';

/** Hands every record of one dump to several sinks, in order; a single sink gets it directly. */
export class FanOutSink implements SocketSink {
  private constructor(private readonly sinks: readonly SocketSink[]) {}

  static of(sinks: readonly SocketSink[]): SocketSink {
    return sinks.length === 1 ? sinks[0]! : new FanOutSink(sinks);
  }

  add(socket: SocketRecord): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i]!.add(socket);
  }
}
