// Every protobuf file the mesh serves, for reflection and transcoding.
import { createFileRegistry, type DescFile, type FileRegistry } from "@bufbuild/protobuf";
import { file_health_v1_health } from "../../gen/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_onering_v1_gateway } from "../../gen/onering/v1/gateway_pb.js";
import { file_onering_v1_key } from "../../gen/onering/v1/key_pb.js";
import { file_onering_v1_metrics } from "../../gen/onering/v1/metrics_pb.js";
import { file_onering_v1_webhook } from "../../gen/onering/v1/webhook_pb.js";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";

/** A file registry holding `files` and everything they import. */
function registryOf(...files: DescFile[]): FileRegistry {
  const all = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (all.has(f.name)) return;
    f.dependencies.forEach(visit);
    all.set(f.name, f);
  };
  files.forEach(visit);
  // DescFile names drop the ".proto" that import statements carry.
  const resolve = (protoFileName: string) => all.get(protoFileName.replace(/\.proto$/, ""));
  return createFileRegistry(...[...all.values()].map((f) => createFileRegistry(f.proto, resolve)));
}

export const meshRegistry = registryOf(
  file_onering_v1_gateway,
  file_onering_v1_key,
  file_onering_v1_metrics,
  file_onering_v1_webhook,
  file_google_rpc_error_details,
  file_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
);
