// gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl and
// `buf curl` work with no proto files at hand. Descriptors come from the
// generated code, which embeds every file the services use.
import { toBinary, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { ServerReflectionRequest } from "../../gen/grpc/reflection/v1/reflection_pb.js";

/** A file and everything it imports, each once, dependencies first. */
function withDependencies(file: DescFile): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    out.push(toBinary(FileDescriptorProtoSchema, f.proto));
  };
  visit(file);
  return out;
}

function fileOfSymbol(registry: FileRegistry, symbol: string): DescFile | undefined {
  const direct = registry.get(symbol);
  if (direct) return direct.file;
  // Methods are looked up as "pkg.Service.Method".
  const parent = registry.getService(symbol.slice(0, symbol.lastIndexOf(".")));
  return parent?.methods.some((m) => `${parent.typeName}.${m.name}` === symbol) ? parent.file : undefined;
}

function answer(registry: FileRegistry, serviceNames: string[], req: ServerReflectionRequest) {
  const notFound = (what: string) => ({ case: "errorResponse" as const, value: { errorCode: 5, errorMessage: `${what} not found` } });
  const files = (file: DescFile | undefined, what: string) =>
    file ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file) } } : notFound(what);
  const m = req.messageRequest;
  switch (m.case) {
    case "listServices":
      return { case: "listServicesResponse" as const, value: { service: serviceNames.map((name) => ({ name })) } };
    case "fileByFilename":
      return files(registry.getFile(m.value), m.value);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, m.value), m.value);
    case "fileContainingExtension": {
      const ext = registry.getMessage(m.value.containingType) && [...registry].find(
        (d) => d.kind === "extension" && d.extendee.typeName === m.value.containingType && d.number === m.value.extensionNumber,
      );
      return files(ext ? ext.file : undefined, `extension ${m.value.extensionNumber} of ${m.value.containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const numbers = [...registry].flatMap((d) => (d.kind === "extension" && d.extendee.typeName === m.value ? [d.number] : []));
      return { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: m.value, extensionNumber: numbers } };
    }
    default:
      return { case: "errorResponse" as const, value: { errorCode: 3, errorMessage: "unsupported reflection request" } };
  }
}

/** Registers both reflection versions, serving `serviceNames` from `registry`. */
export function registerReflection(router: ConnectRouter, registry: FileRegistry, serviceNames: string[]): void {
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequest>) {
      for await (const req of requests) {
        yield { validHost: req.host, originalRequest: req, messageResponse: answer(registry, serviceNames, req) };
      }
    },
  };
  router.service(ReflectionV1, impl);
  // v1alpha has the same messages under another package name.
  router.service(ReflectionV1Alpha, impl as never);
}
