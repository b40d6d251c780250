// Loading the bundled protos: the gRPC service clients (through @grpc/proto-loader) and the
// protobufjs types of google.rpc used to decode error details. Both read clients/node/protos,
// so an installed package needs nothing from the ibbroker repository.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/** Directory of the bundled .proto files (ibbroker/v1, google/rpc, google/protobuf). */
export const PROTO_DIR = join(dirname(dirname(fileURLToPath(import.meta.url))), 'protos');

/**
 * Options of @grpc/proto-loader, also used by scripts/gen-types.mjs for the TypeScript types:
 * field names as in the .proto (the same as in Python, grpcurl and docs/api.md), 64-bit integers
 * as decimal strings (sequence numbers and epochs exceed 2^53), enums as their names, every
 * field present with its default, and oneof virtual fields.
 */
export const LOADER_OPTIONS = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});

let grpcObject;

/** The loaded `ibbroker.v1` package (every .proto under protos/ibbroker/v1), cached. */
export function loadPackage() {
  if (!grpcObject) {
    const files = readdirSync(join(PROTO_DIR, 'ibbroker', 'v1'))
      .filter((name) => name.endsWith('.proto'))
      .sort()
      .map((name) => `ibbroker/v1/${name}`);
    grpcObject = grpc.loadPackageDefinition(protoLoader.loadSync(files, LOADER_OPTIONS));
  }
  return grpcObject;
}

let rpcRoot;

/** protobufjs Root with google.rpc.Status and the error detail messages, cached. */
export function rpcTypes() {
  if (!rpcRoot) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], {
      keepCase: true,
    });
    rpcRoot = root;
  }
  return rpcRoot;
}
