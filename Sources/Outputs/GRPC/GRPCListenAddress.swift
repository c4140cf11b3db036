import Foundation
import NIOCore
import Settings

/// Where the `grpc` output listens: `host:port` (Falco's `bind_address`, e.g. `0.0.0.0:5060`) or
/// `unix:///run/auditpipe/falco.sock` (Falco's unix socket, which falcoctl, client-go and
/// falco-exporter use without TLS).
public enum GRPCListenAddress: Decodable, Sendable, Equatable, CustomStringConvertible {
    case tcp(ListenAddress)
    case unix(path: String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let address = Self(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "'\(text)' is neither host:port nor unix:///path (examples: 0.0.0.0:5060, unix:///run/auditpipe/falco.sock)")
        }
        self = address
    }

    public init?(parsing text: String) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/"), path.utf8.count < 108 else { return nil }
            self = .unix(path: path)
        } else if let address = ListenAddress(parsing: text) {
            self = .tcp(address)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .tcp(let address): return address.description
        case .unix(let path): return "unix://\(path)"
        }
    }
}

/// A listening socket bound before the gRPC server starts, so that a port in use or a bad address
/// fails the output's creation with a clear message (instead of a server that silently never
/// listens), and so that port 0 gives a known port at once.
struct BoundListener: Sendable {
    let descriptor: Int32
    /// The address actually bound (the real port when 0 was asked).
    let address: GRPCListenAddress

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func bind(_ address: GRPCListenAddress) throws(Failure) -> BoundListener {
        let socketAddress: NIOCore.SocketAddress
        do {
            switch address {
            case .tcp(let tcp): socketAddress = try .makeAddressResolvingHost(tcp.host, port: tcp.port)
            case .unix(let path): socketAddress = try .init(unixDomainSocketPath: path)
            }
        } catch {
            throw Failure(description: "cannot listen on \(address): \(error)")
        }
        if case .unix(let path) = address { try removeStaleSocket(path) }

        let descriptor = socket(Int32(socketAddress.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "cannot listen on \(address): \(lastError())") }
        var reuse: Int32 = 1
        if case .tcp = address {
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        }
        let bound = socketAddress.withSockAddr { pointer, length in bindSocket(descriptor, pointer, socklen_t(length)) }
        guard bound == 0, listen(descriptor, 128) == 0 else {
            let reason = lastError()
            close(descriptor)
            throw Failure(description: "cannot listen on \(address): \(reason)")
        }
        return BoundListener(descriptor: descriptor, address: boundAddress(descriptor, asked: address))
    }

    /// A socket file left by a process that is gone is replaced; a live one (another server
    /// answers on it) or a file that is not a socket is an error.
    private static func removeStaleSocket(_ path: String) throws(Failure) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "cannot listen on unix://\(path): the path exists and is not a socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        let live = (try? NIOCore.SocketAddress(unixDomainSocketPath: path))?.withSockAddr { pointer, length in
            connect(probe, pointer, socklen_t(length)) == 0
        } ?? false
        guard !live else { throw Failure(description: "cannot listen on unix://\(path): another server is listening on it") }
        unlink(path)
    }

    private static func boundAddress(_ descriptor: Int32, asked: GRPCListenAddress) -> GRPCListenAddress {
        guard case .tcp(let tcp) = asked else { return asked }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let port: Int? = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Int? in
                guard getsockname(descriptor, address, &length) == 0 else { return nil }
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
                case AF_INET6:
                    return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
                default:
                    return nil
                }
            }
        }
        return .tcp(ListenAddress(host: tcp.host, port: port ?? tcp.port))
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// `bind(2)`, named apart from `BoundListener.bind`.
private func bindSocket(_ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.bind(descriptor, address, length)
    #else
    Darwin.bind(descriptor, address, length)
    #endif
}
