/// Every output type the sink knows, by its `type:` name. One line per output; each output
/// lives in a file of its own.
public enum OutputTypes {
    public static let all: [any OutputConfiguration.Type] = [
        StdoutOutput.Configuration.self,
        FileOutput.Configuration.self,
        ProgramOutput.Configuration.self,
        KafkaOutput.Configuration.self,
        HTTPOutput.Configuration.self,
        WebhookOutput.Configuration.self,
        SlackOutput.Configuration.self,
        RocketChatOutput.Configuration.self,
        MattermostOutput.Configuration.self,
        TeamsOutput.Configuration.self,
        DatadogOutput.Configuration.self,
        OpsgenieOutput.Configuration.self,
        AlertmanagerOutput.Configuration.self,
        ElasticsearchOutput.Configuration.self,
        LokiOutput.Configuration.self,
        InfluxDBOutput.Configuration.self,
        NATSOutput.Configuration.self,
        SMTPOutput.Configuration.self,
        AWSSQSOutput.Configuration.self,
        AWSLambdaOutput.Configuration.self,
        GRPCOutput.Configuration.self,
    ]

    public static let byName: [String: any OutputConfiguration.Type] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.type, $0) })
}
