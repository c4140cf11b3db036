import Foundation

/// Decoding helpers shared by the outputs' settings.
extension KeyedDecodingContainer {
    /// A template setting, its placeholders checked; errors point at the setting.
    func decodeTemplate(forKey key: Key, default defaultText: String) throws -> AlertTemplate {
        let text = try decodeIfPresent(String.self, forKey: key) ?? defaultText
        do {
            return try AlertTemplate(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: error.message)
        }
    }

    /// A list of strings written as a YAML list or as one comma-separated string (as
    /// falcosidekick's settings are), without empty items.
    func decodeStringList(forKey key: Key) throws -> [String]? {
        let items: [String]
        if let list = try? decodeIfPresent([String].self, forKey: key) {
            items = list
        } else if let text = try decodeIfPresent(String.self, forKey: key) {
            items = text.split(separator: ",").map(String.init)
        } else {
            return nil
        }
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
