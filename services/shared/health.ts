// grpc.health.v1.Health, so grpc_health_probe, grpcurl and Kubernetes' native
// gRPC probes work. The empty service name reports the whole process.
import { Code, ConnectError } from "@connectrpc/connect";
import { EventEmitter, on } from "node:events";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/health/v1/health_pb.js";
import { implementation, type Implementation } from "./implementation.js";

export { Status as ServingStatus };

export class HealthRegistry {
  private readonly statuses = new Map<string, Status>();
  private readonly changes = new EventEmitter();
  private readonly watchesEnded = new AbortController();

  constructor(serviceNames: string[]) {
    this.changes.setMaxListeners(0);
    for (const name of ["", ...serviceNames]) this.statuses.set(name, Status.NOT_SERVING);
  }

  /** Sets every registered service (and the process) to one status. */
  setAll(status: Status): void {
    for (const name of this.statuses.keys()) {
      this.statuses.set(name, status);
      this.changes.emit(name, status);
    }
  }

  /** Ends every Watch stream once it has sent the current status: an open stream would hold a draining server open. */
  endWatches(): void {
    this.watchesEnded.abort();
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  private async *watch(service: string, signal: AbortSignal) {
    yield { status: this.statuses.get(service) ?? Status.SERVICE_UNKNOWN };
    if (this.watchesEnded.signal.aborted) return;
    try {
      for await (const [status] of on(this.changes, service, { signal: AbortSignal.any([signal, this.watchesEnded.signal]) })) {
        yield { status: status as Status };
      }
    } catch (err) {
      if (!this.watchesEnded.signal.aborted) throw err;
    }
  }

  implementation(): Implementation {
    return implementation(Health, {
      check: (req) => {
        const status = this.statuses.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
        return { status };
      },
      list: () => ({
        statuses: Object.fromEntries([...this.statuses].map(([name, status]) => [name, { status }])),
      }),
      watch: (req, ctx) => this.watch(req.service, ctx.signal),
    });
  }
}
