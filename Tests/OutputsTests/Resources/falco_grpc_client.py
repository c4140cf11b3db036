#!/usr/bin/env python3
"""A Falco gRPC outputs client, as Falco's Python users write one: code generated with grpcio-tools
from the same .proto files (proto/falco), grpcio's channel, `sub` with a stream of requests (one every
100 ms, as falcosecurity/client-py sends them) and `get`. Prints one JSON line per alert received,
then `END <status>`. Used by Tests/OutputsTests/GRPC to prove auditpipe's grpc output speaks Falco's API.

usage: falco_grpc_client.py --proto-dir DIR --work-dir DIR --target HOST:PORT|unix:///PATH
                            --mode sub|get [--count N] [--ca F --cert F --key F]
"""
import argparse
import json
import os
import sys
import threading
import time


def generate(proto_dir, work_dir):
    """Generates the Python modules from the .proto files, as `python -m grpc_tools.protoc` does."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    status = protoc.main([
        "grpc_tools.protoc", f"-I{proto_dir}", f"-I{well_known}",
        f"--python_out={work_dir}", f"--grpc_python_out={work_dir}",
        os.path.join(proto_dir, "schema.proto"), os.path.join(proto_dir, "outputs.proto"),
    ])
    if status != 0:
        sys.exit(f"protoc failed with status {status}")
    sys.path.insert(0, work_dir)


def channel(args):
    import grpc

    if args.target.startswith("unix://"):
        return grpc.insecure_channel(args.target)
    if args.ca:
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.ca),
            private_key=read(args.key) if args.key else None,
            certificate_chain=read(args.cert) if args.cert else None,
        )
        return grpc.secure_channel(args.target, credentials)
    return grpc.insecure_channel(args.target)


def describe(response, schema_pb2):
    return {
        "seconds": response.time.seconds,
        "nanos": response.time.nanos,
        "priority": schema_pb2.priority.Name(response.priority),
        "priority_number": int(response.priority),
        "source": response.source,
        "source_deprecated": schema_pb2.source.Name(response.source_deprecated),
        "rule": response.rule,
        "output": response.output,
        "output_fields": dict(response.output_fields),
        "hostname": response.hostname,
        "tags": list(response.tags),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--mode", choices=["sub", "get"], required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--ca")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--timeout", type=float, default=60)
    # By default a call waits (up to --timeout) for the channel to connect, retrying failed attempts: on a
    # loaded machine one attempt can time out before the server's SETTINGS frame. --fail-fast fails the call
    # at the first failed attempt instead, to see a refusal (a TLS handshake the server rejects) as UNAVAILABLE.
    parser.add_argument("--fail-fast", action="store_true")
    args = parser.parse_args()

    generate(args.proto_dir, args.work_dir)
    import grpc
    import outputs_pb2
    import outputs_pb2_grpc
    import schema_pb2

    stub = outputs_pb2_grpc.serviceStub(channel(args))
    done = threading.Event()

    def requests():
        while not done.is_set():
            yield outputs_pb2.request()
            time.sleep(0.1)

    received = 0
    try:
        if args.mode == "get":
            responses = stub.get(outputs_pb2.request(), timeout=args.timeout, wait_for_ready=not args.fail_fast)
        else:
            responses = stub.sub(requests(), timeout=args.timeout, wait_for_ready=not args.fail_fast)
            print("SUBSCRIBED", flush=True)
        for response in responses:
            print(json.dumps(describe(response, schema_pb2), sort_keys=True), flush=True)
            received += 1
            if args.mode == "sub" and received >= args.count:
                done.set()
                responses.cancel()
                break
        print("END OK", flush=True)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.CANCELLED and done.is_set():
            print("END OK", flush=True)
        else:
            print(f"END {error.code().name} {error.details()}", flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
