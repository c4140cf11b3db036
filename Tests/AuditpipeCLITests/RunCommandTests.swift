import Foundation
import Kafka
import TestSupport
import Testing

/// `auditpipe run` as a user starts it: all stages in one process, fed the built-in sample by `auditpipe loadgen`
/// through the real webhook, alerts read off its standard output.
@Suite struct RunCommandTests {
    /// A malicious event of the sample (a privileged pod) as `run`'s default stdout output prints it.
    static var privilegedPodAlert: Regex<Substring> { #/Critical +Privileged Container in Pod Spec \[cluster-1\]: Privileged container requested \(user=/# }

    /// Starts `auditpipe run` on a free port; waits until it says where it listens.
    static func startRun(_ extra: [String] = [], environment: [String: String]? = nil) async throws -> (ChildProcess, String) {
        let port = try FreePort.allocate()
        let run = try ChildProcess(CLIRunner.binary, ["run", "--rules", RepositoryPaths.projectRules,
                                                      "--listen", "127.0.0.1:\(port)"] + extra, environment: environment)
        #expect(await run.waitForOutput(containing: "ingress listening on http://127.0.0.1:\(port)", within: .seconds(60)),
                "\(run.stderr)")
        return (run, "http://127.0.0.1:\(port)")
    }

    /// `auditpipe loadgen --sample` to the url; its report.
    static func sendSample(to url: String, clusters: Int = 1) throws -> CLIRunner.Result {
        try CLIRunner.run(["loadgen", "--sample", "--url", url, "--clusters", "\(clusters)", "--wait-ready", "60s"],
                          timeout: 120)
    }

    /// SIGTERM ends every stage gracefully with status 0, and nothing of the process is left.
    static func stopCleanly(_ run: ChildProcess) async {
        let pid = run.process.processIdentifier
        let status = await run.stop(signal: SIGTERM, within: .seconds(60))
        #expect(status == 0, "\(run.stderr)")
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the process is gone")
        for stage in ["ingress stopped", "engine stopped", "sink stopped"] {
            #expect(run.stderr.contains(stage), "\(stage): \(run.stderr)")
        }
    }

    @Test func withoutBrokersItEmbedsKafkaAndPrintsAlertsOfTheSample() async throws {
        let (run, url) = try await Self.startRun()
        let embedded = run.stderr.split(separator: "\n").filter { $0.contains("embedded Kafka cluster") }
        #expect(embedded.count == 1, "one line says so: \(run.stderr)")
        #expect(run.stderr.contains("WARNING: the embedded cluster keeps data in memory only"))

        let sent = try Self.sendSample(to: url)
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        #expect(sent.stdout.contains("acknowledged 114 events"), "\(sent.stdout)")
        #expect(sent.stdout.contains("refused: none"))

        #expect(await eventually(within: .seconds(60)) { run.stdout.contains(Self.privilegedPodAlert) },
                "stdout: \(run.stdout)\nstderr: \(run.stderr)")
        // One readable line per alert: the sample's attacks, and nothing from its routine events.
        #expect(await eventually(within: .seconds(30)) { run.stdout.split(separator: "\n").count >= 6 }, "\(run.stdout)")
        for line in run.stdout.split(separator: "\n") {
            #expect(line.firstMatch(of: #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (Critical|Warning|Notice) +[A-Z][^\[]+ \[cluster-1\]: .+cluster=cluster-1\)$/#) != nil,
                    "\(line)")
        }
        await Self.stopCleanly(run)
    }

    @Test func withBrokersItRunsTheStagesAgainstThem() async throws {
        let cluster = try TestCluster(brokers: 1, partitions: 8)
        let (run, url) = try await Self.startRun(environment: ["AUDITPIPE_BROKERS": cluster.bootstrapServers])
        #expect(!run.stderr.contains("embedded"), "\(run.stderr)")

        let sent = try Self.sendSample(to: url, clusters: 2)
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        #expect(sent.stdout.contains("acknowledged 228 events"), "\(sent.stdout)")
        #expect(await eventually(within: .seconds(60)) { run.stdout.contains(Self.privilegedPodAlert) }, "\(run.stderr)")

        // The stages used the given cluster: the events and their alerts are in its topics.
        let raw = try cluster.read(cluster.topics.raw, count: 228, limit: .seconds(60))
        #expect(Set(raw.compactMap { $0.header("cluster") }) == ["cluster-1", "cluster-2"])
        let alerts = try cluster.read(cluster.topics.alerts, count: 2, limit: .seconds(60))
        #expect(alerts.count >= 2)
        await Self.stopCleanly(run)
    }

    @Test func configErrorsNameTheKeyAndLine() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("auditpipe.yaml", """
            engine:
              rules: [rules.yaml]
              rule_matchin: all
            """)
        let result = try CLIRunner.run(["run", "--config", config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("auditpipe.yaml:3:3: unknown key 'rule_matchin' in engine"), "\(result.stderr)")
    }

    @Test func withoutRulesItSaysSo() throws {
        let result = try CLIRunner.run(["run"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no rules: give --rules FILE"), "\(result.stderr)")
    }
}
