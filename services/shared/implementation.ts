// A service and its implementation, as given to Connect's router. serve(), the
// gRPC unary fast path and the REST transcoder all take the same list.
import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";

export interface Implementation {
  service: DescService;
  impl: Partial<ServiceImpl<DescService>>;
}

export function implementation<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>): Implementation {
  return { service, impl: impl as Partial<ServiceImpl<DescService>> };
}
