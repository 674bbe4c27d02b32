const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const I = 0x69;
const D = 0x64;
const COLON = 0x3a;

// Where the current line stands in spelling out the field name "id:" and its value.
const IdState = { LineStart: 0, SawI: 1, SawId: 2, SawColon: 3, SawColonSpace: 4, NotId: 5 } as const;
type IdState = (typeof IdState)[keyof typeof IdState];

/**
 * Measures a `text/event-stream` body as it passes, without decoding or copying it: how many
 * bytes the event being received holds so far (since the last blank line), whether the stream
 * is in the middle of an event or of a line, and whether an event carried an `id` (a "priming"
 * event, after which a server may close the stream and expect the client to resume it).
 * Linear in the bytes fed; keeps a few numbers of state.
 * @internal
 */
export class SseEventSizer {
  /** Bytes of the event being received, terminators included; 0 right after a blank line. */
  eventBytes = 0;
  /** An event with a non-empty `id` was completed. */
  primed = false;
  private lineBytes = 0;
  private afterCr = false;
  private idState: IdState = IdState.LineStart;
  private eventHasId = false;

  /** True when bytes of an unfinished line were received. */
  get midLine(): boolean {
    return this.lineBytes > 0;
  }

  /**
   * Feeds the next chunk. Returns false as soon as the current event grows past `maxEventBytes`
   * (the rest of the chunk is not looked at).
   */
  push(chunk: Uint8Array, maxEventBytes: number): boolean {
    for (let index = 0; index < chunk.length; index += 1) {
      const byte = chunk[index] as number;
      this.eventBytes += 1;
      if (byte === LF && this.afterCr) {
        // The LF of a CRLF pair: the line already ended at the CR.
        this.afterCr = false;
      } else if (byte === LF || byte === CR) {
        this.afterCr = byte === CR;
        this.endLine();
      } else {
        this.afterCr = false;
        this.lineBytes += 1;
        this.trackId(byte);
      }
      if (this.eventBytes > maxEventBytes) return false;
    }
    return true;
  }

  private endLine(): void {
    if (this.lineBytes === 0) {
      // A blank line ends the event.
      if (this.eventHasId) this.primed = true;
      this.eventHasId = false;
      this.eventBytes = 0;
    }
    this.lineBytes = 0;
    this.idState = IdState.LineStart;
  }

  private trackId(byte: number): void {
    switch (this.idState) {
      case IdState.LineStart:
        this.idState = byte === I ? IdState.SawI : IdState.NotId;
        return;
      case IdState.SawI:
        this.idState = byte === D ? IdState.SawId : IdState.NotId;
        return;
      case IdState.SawId:
        this.idState = byte === COLON ? IdState.SawColon : IdState.NotId;
        return;
      case IdState.SawColon:
        // One space after the colon belongs to the syntax, not the value.
        if (byte === SPACE) {
          this.idState = IdState.SawColonSpace;
          return;
        }
        this.eventHasId = true;
        this.idState = IdState.NotId;
        return;
      case IdState.SawColonSpace:
        this.eventHasId = true;
        this.idState = IdState.NotId;
        return;
      default:
        return;
    }
  }
}
