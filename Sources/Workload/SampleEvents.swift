/// The built-in sample (`auditpipe loadgen --sample`, `make run`): a small, fixed slice of a busy control plane
/// with a few attacks among the routine, the same every time. About one event in twenty is an attack that the
/// project's rules (rules/auditpipe_rules.yaml) report.
public enum SampleEvents {
    public static func events() -> [[UInt8]] {
        var generator = CorpusGenerator(seed: 2026)
        let routine: [CorpusGenerator.Kind] = [.controllerRead, .leaseRenewal, .controllerRead, .nodeStatusPatch,
                                               .eventCreate, .controllerRead, .leaseRenewal, .podCreate]
        // An attack after every 18 routine events: escalation, then a foothold, then credentials.
        let attacks: [CorpusGenerator.Kind] = [.privilegedPodCreate, .execIntoPod, .clusterAdminBinding, .secretRead,
                                               .privilegedPodCreate, .execIntoPod]
        var kinds: [CorpusGenerator.Kind] = []
        for attack in attacks {
            for index in 0..<18 { kinds.append(routine[(kinds.count + index) % routine.count]) }
            kinds.append(attack)
        }
        return kinds.enumerated().map { number, kind in Array(generator.event(kind, number: number).utf8) }
    }
}
