// Applies the buf.validate rules written in the protos to every request before
// its handler runs. Every process puts it among its interceptors, and REST is
// transcoded onto the same chain, so Connect, gRPC, gRPC-Web and REST callers
// meet one set of rules and get every violation at once, in the contract's
// `violations` shape. What rules cannot say (SSRF, JSON depth and size) stays
// in the handlers.
import type { DescMessage, DescMethod, Message } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { createValidator, type Violation as RuleViolation } from "@bufbuild/protovalidate";
import { invalidArgument, type Violation } from "./errors.js";

function toViolation(v: RuleViolation): Violation {
  return { field: pathToString(v.field), description: v.message };
}

// Rules live on fields and in message options: a request without either (GetMe's) has none to check.
function cannotHaveRules(desc: DescMessage): boolean {
  return desc.fields.length === 0 && desc.proto.options === undefined;
}

export class RequestRules {
  private readonly validator = createValidator();

  /** Throws INVALID_ARGUMENT with every violation of `message`, the request of `method`. */
  check(method: DescMethod, message: Message): void {
    if (cannotHaveRules(method.input)) return;
    const result = this.validator.validate(method.input, message);
    if (result.kind === "invalid") throw invalidArgument(result.violations.map(toViolation));
    // A rule that does not compile is a bug in the protos: the error boundary logs it as INTERNAL.
    if (result.kind === "error") throw result.error;
  }
}

export function requestRules(rules = new RequestRules()): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) rules.check(req.method, req.message);
    return next(req);
  };
}
