// simdjson behind the C interface of csimdjson.h.
//
// The DOM parser is used for evaluation: one parse per event, then random
// access to the few paths the loaded rules need. Nodes live in a table that is
// cleared on every parse, so ids stay small integers that Swift can hold
// without knowing simdjson's types. The on-demand parser is used only for
// splitting a body into items, because it can hand out each item's raw bytes.
#include "csimdjson.h"

#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

using namespace simdjson;

struct ap_doc {
    dom::parser parser;
    std::vector<dom::element> nodes;
    std::string json_text;
    bool valid = false;
};

extern "C" ap_doc *ap_doc_create(void) {
    try {
        auto *doc = new ap_doc();
        doc->nodes.reserve(256);
        return doc;
    } catch (...) {
        return nullptr;
    }
}

extern "C" void ap_doc_destroy(ap_doc *doc) { delete doc; }

extern "C" int ap_doc_parse(ap_doc *doc, const uint8_t *data, size_t len) {
    doc->nodes.clear();
    doc->valid = false;
    dom::element root;
    auto error = doc->parser.parse(data, len, true).get(root);
    if (error) { return int(error); }
    doc->nodes.push_back(root);
    doc->valid = true;
    return 0;
}

extern "C" const char *ap_error_message(int code) {
    return error_message(error_code(code));
}

static inline bool lookup(ap_doc *doc, int32_t node, dom::element &out) {
    if (node < 0 || size_t(node) >= doc->nodes.size()) { return false; }
    out = doc->nodes[size_t(node)];
    return true;
}

static inline int32_t remember(ap_doc *doc, const dom::element &element) {
    doc->nodes.push_back(element);
    return int32_t(doc->nodes.size() - 1);
}

extern "C" int ap_node_type(ap_doc *doc, int32_t node) {
    dom::element element;
    if (!lookup(doc, node, element)) { return AP_MISSING; }
    switch (element.type()) {
    case dom::element_type::NULL_VALUE: return AP_NULL;
    case dom::element_type::BOOL: return AP_BOOL;
    case dom::element_type::INT64: return AP_INT64;
    case dom::element_type::UINT64: return AP_UINT64;
    case dom::element_type::DOUBLE: return AP_DOUBLE;
    case dom::element_type::STRING: return AP_STRING;
    case dom::element_type::ARRAY: return AP_ARRAY;
    case dom::element_type::OBJECT: return AP_OBJECT;
    }
    return AP_MISSING;
}

extern "C" int32_t ap_object_get(ap_doc *doc, int32_t node, const uint8_t *key, size_t key_len) {
    dom::element element;
    if (!lookup(doc, node, element)) { return -1; }
    dom::object object;
    if (element.get_object().get(object)) { return -1; }
    std::string_view wanted(reinterpret_cast<const char *>(key), key_len);
    // A linear scan, like object::at_key, but without its key-escaping work:
    // audit event keys are plain ASCII.
    for (auto field : object) {
        if (field.key == wanted) { return remember(doc, field.value); }
    }
    return -1;
}

extern "C" size_t ap_node_count(ap_doc *doc, int32_t node) {
    dom::element element;
    if (!lookup(doc, node, element)) { return 0; }
    dom::array array;
    if (!element.get_array().get(array)) { return array.size(); }
    dom::object object;
    if (!element.get_object().get(object)) { return object.size(); }
    return 0;
}

extern "C" size_t ap_array_children(ap_doc *doc, int32_t node, int32_t *out, size_t cap) {
    dom::element element;
    if (!lookup(doc, node, element)) { return 0; }
    dom::array array;
    if (element.get_array().get(array)) { return 0; }
    size_t count = 0;
    for (dom::element child : array) {
        if (count < cap) { out[count] = remember(doc, child); }
        count++;
    }
    return count;
}

extern "C" size_t ap_object_entries(ap_doc *doc, int32_t node, const uint8_t **keys, size_t *key_lens,
                                    int32_t *values, size_t cap) {
    dom::element element;
    if (!lookup(doc, node, element)) { return 0; }
    dom::object object;
    if (element.get_object().get(object)) { return 0; }
    size_t count = 0;
    for (auto field : object) {
        if (count < cap) {
            keys[count] = reinterpret_cast<const uint8_t *>(field.key.data());
            key_lens[count] = field.key.size();
            values[count] = remember(doc, field.value);
        }
        count++;
    }
    return count;
}

extern "C" bool ap_node_string(ap_doc *doc, int32_t node, const uint8_t **ptr, size_t *len) {
    dom::element element;
    if (!lookup(doc, node, element)) { return false; }
    std::string_view view;
    if (element.get_string().get(view)) { return false; }
    *ptr = reinterpret_cast<const uint8_t *>(view.data());
    *len = view.size();
    return true;
}

extern "C" bool ap_node_bool(ap_doc *doc, int32_t node, bool *out) {
    dom::element element;
    if (!lookup(doc, node, element)) { return false; }
    return !element.get_bool().get(*out);
}

extern "C" bool ap_node_int64(ap_doc *doc, int32_t node, int64_t *out) {
    dom::element element;
    if (!lookup(doc, node, element)) { return false; }
    return !element.get_int64().get(*out);
}

extern "C" bool ap_node_uint64(ap_doc *doc, int32_t node, uint64_t *out) {
    dom::element element;
    if (!lookup(doc, node, element)) { return false; }
    return !element.get_uint64().get(*out);
}

extern "C" bool ap_node_double(ap_doc *doc, int32_t node, double *out) {
    dom::element element;
    if (!lookup(doc, node, element)) { return false; }
    return !element.get_double().get(*out);
}

extern "C" const uint8_t *ap_node_json(ap_doc *doc, int32_t node, size_t *len) {
    dom::element element;
    if (!lookup(doc, node, element)) {
        *len = 0;
        return nullptr;
    }
    try {
        doc->json_text = simdjson::minify(element);
    } catch (...) {
        *len = 0;
        return nullptr;
    }
    *len = doc->json_text.size();
    return reinterpret_cast<const uint8_t *>(doc->json_text.data());
}

// MARK: - Splitting

struct ap_splitter {
    ondemand::parser parser;
    std::vector<char> buffer;
    std::vector<ap_span> spans;
    std::string kind;
};

extern "C" ap_splitter *ap_splitter_create(void) {
    try {
        return new ap_splitter();
    } catch (...) {
        return nullptr;
    }
}

extern "C" void ap_splitter_destroy(ap_splitter *s) { delete s; }

static int type_of(ondemand::json_type type) {
    switch (type) {
    case ondemand::json_type::array: return AP_ARRAY;
    case ondemand::json_type::object: return AP_OBJECT;
    case ondemand::json_type::number: return AP_DOUBLE;
    case ondemand::json_type::string: return AP_STRING;
    case ondemand::json_type::boolean: return AP_BOOL;
    case ondemand::json_type::null: return AP_NULL;
    }
    return AP_MISSING;
}

// The raw bytes of any value, without consuming more than the value itself.
static error_code raw_span(ondemand::value value, const char *base, ap_span &span) {
    ondemand::json_type type;
    auto error = value.type().get(type);
    if (error) { return error; }
    span.type = type_of(type);
    std::string_view raw;
    if (type == ondemand::json_type::object) {
        ondemand::object object;
        error = value.get_object().get(object);
        if (!error) { error = object.raw_json().get(raw); }
    } else if (type == ondemand::json_type::array) {
        ondemand::array array;
        error = value.get_array().get(array);
        if (!error) { error = array.raw_json().get(raw); }
    } else {
        raw = value.raw_json_token();
    }
    if (error) { return error; }
    // raw_json and raw_json_token run up to the next token, whitespace included: an item's bytes end at its
    // last character.
    while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) {
        raw.remove_suffix(1);
    }
    span.offset = size_t(raw.data() - base);
    span.length = raw.size();
    return SUCCESS;
}

static size_t offset_of(ondemand::document &doc, const char *base, size_t len) {
    const char *location = nullptr;
    if (doc.current_location().get(location) || location == nullptr) { return len; }
    return size_t(location - base);
}

extern "C" int ap_split(ap_splitter *s, const uint8_t *data, size_t len,
                        const ap_span **spans, size_t *count,
                        const char **kind_value, size_t *kind_len,
                        int *error_code_out, size_t *error_offset) {
    s->spans.clear();
    s->kind.clear();
    *spans = nullptr;
    *count = 0;
    *kind_value = nullptr;
    *kind_len = 0;
    *error_code_out = 0;
    *error_offset = 0;
    try {
        s->buffer.resize(len + SIMDJSON_PADDING);
    } catch (...) {
        *error_code_out = int(MEMALLOC);
        return AP_SPLIT_ERROR;
    }
    std::memcpy(s->buffer.data(), data, len);
    std::memset(s->buffer.data() + len, 0, SIMDJSON_PADDING);
    const char *base = s->buffer.data();

    // The whole input, without surrounding whitespace, is the span of a single object.
    size_t start = 0, end = len;
    while (start < end && (base[start] == ' ' || base[start] == '\n' || base[start] == '\r' || base[start] == '\t')) { start++; }
    while (end > start && (base[end - 1] == ' ' || base[end - 1] == '\n' || base[end - 1] == '\r' || base[end - 1] == '\t')) { end--; }

    ondemand::document doc;
    auto error = s->parser.iterate(padded_string_view(base, len, len + SIMDJSON_PADDING)).get(doc);
    if (error) {
        *error_code_out = int(error);
        return AP_SPLIT_ERROR;
    }
    ondemand::json_type type;
    error = doc.type().get(type);
    if (error) {
        *error_code_out = int(error);
        *error_offset = offset_of(doc, base, len);
        return AP_SPLIT_ERROR;
    }
    int kind = AP_SPLIT_SCALAR;
    if (type == ondemand::json_type::array) {
        kind = AP_SPLIT_ARRAY;
        ondemand::array array;
        error = doc.get_array().get(array);
        if (!error) {
            for (auto element : array) {
                ondemand::value value;
                if ((error = element.get(value))) { break; }
                ap_span span{};
                if ((error = raw_span(value, base, span))) { break; }
                s->spans.push_back(span);
            }
        }
    } else if (type == ondemand::json_type::object) {
        ondemand::object object;
        error = doc.get_object().get(object);
        bool has_items = false;
        std::vector<ap_span> items;
        if (!error) {
            for (auto field : object) {
                std::string_view key;
                if ((error = field.unescaped_key().get(key))) { break; }
                ondemand::value value;
                if ((error = field.value().get(value))) { break; }
                if (key == "kind") {
                    std::string_view kind_text;
                    if (!value.get_string().get(kind_text)) { s->kind.assign(kind_text); }
                } else if (key == "items") {
                    ondemand::array array;
                    if (value.get_array().get(array)) { continue; }
                    has_items = true;
                    for (auto element : array) {
                        ondemand::value item;
                        if ((error = element.get(item))) { break; }
                        ap_span span{};
                        if ((error = raw_span(item, base, span))) { break; }
                        items.push_back(span);
                    }
                    if (error) { break; }
                }
            }
        }
        if (!error && has_items && (s->kind.empty() || s->kind == "EventList")) {
            kind = AP_SPLIT_LIST;
            s->spans = std::move(items);
        } else {
            kind = AP_SPLIT_OBJECT;
            s->spans.push_back(ap_span{start, end - start, AP_OBJECT});
        }
    } else {
        // Asking the type looks at the first character only: read the scalar to know it is valid JSON
        // (simdjson also refuses anything after a document-level scalar).
        switch (type) {
        case ondemand::json_type::string: { std::string_view text; error = doc.get_string().get(text); break; }
        case ondemand::json_type::number: { double number; error = doc.get_double().get(number); break; }
        case ondemand::json_type::boolean: { bool flag; error = doc.get_bool().get(flag); break; }
        default: {
            bool null = false;
            error = doc.is_null().get(null);
            if (!error && !null) { error = N_ATOM_ERROR; }
            break;
        }
        }
        s->spans.push_back(ap_span{start, end - start, type_of(type)});
    }
    if (!error && kind != AP_SPLIT_SCALAR) {
        // Anything but the end of input after the value is trailing content (document-level scalars were
        // checked for it when read).
        const char *location = nullptr;
        if (!doc.current_location().get(location)) { error = TRAILING_CONTENT; }
    }
    if (error) {
        *error_code_out = int(error);
        *error_offset = offset_of(doc, base, len);
        s->spans.clear();
        return AP_SPLIT_ERROR;
    }
    *spans = s->spans.data();
    *count = s->spans.size();
    if (!s->kind.empty()) {
        *kind_value = s->kind.data();
        *kind_len = s->kind.size();
    }
    return kind;
}
