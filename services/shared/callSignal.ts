// The abort signal of a transcoded call, made only when something reads it.
// Most handlers never do, and Connect's createHandlerContext spends two
// AbortControllers and their listeners on every call, a measurable share of
// a REST call's CPU. A reason set before the first read yields a signal that
// is already aborted with it, so readers see the same as with an eager one.
// What can abort the call (the client going away) is watched from the first
// read on too: a REST call's close listener was another measurable share.
export class CallSignal {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  /** `watch`, if given, is called with this signal's abort once something reads the signal. */
  constructor(private readonly watch?: (abort: (reason: unknown) => void) => void) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
      else this.watch?.((reason) => this.abort(reason));
    }
    return this.controller.signal;
  }

  /** Aborts once; later reasons are ignored, as with AbortController. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
