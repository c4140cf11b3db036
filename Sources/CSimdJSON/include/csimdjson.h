// A small C interface over simdjson, so that Swift never sees C++ types.
//
// One `ap_doc` owns a simdjson DOM parser and a table of nodes. Nodes are
// addressed by int32 ids that are valid until the next ap_doc_parse on the
// same doc; id 0 is the root, -1 means "not there". Strings handed out point
// into the parser's own buffers and share that lifetime.
#ifndef CSIMDJSON_H
#define CSIMDJSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ap_doc ap_doc;

enum ap_type {
    AP_MISSING = 0,
    AP_NULL = 1,
    AP_BOOL = 2,
    AP_INT64 = 3,
    AP_UINT64 = 4,
    AP_DOUBLE = 5,
    AP_STRING = 6,
    AP_ARRAY = 7,
    AP_OBJECT = 8,
};

ap_doc *ap_doc_create(void);
void ap_doc_destroy(ap_doc *doc);

/// Parses one JSON document. Returns 0, or a simdjson error code (see ap_error_message).
int ap_doc_parse(ap_doc *doc, const uint8_t *data, size_t len);
const char *ap_error_message(int code);

int ap_node_type(ap_doc *doc, int32_t node);
/// The value of `key` in the object `node`, or -1.
int32_t ap_object_get(ap_doc *doc, int32_t node, const uint8_t *key, size_t key_len);
/// Number of entries of an array or object; 0 for anything else.
size_t ap_node_count(ap_doc *doc, int32_t node);
/// Writes up to `cap` child ids of an array into `out`; returns the array's size.
size_t ap_array_children(ap_doc *doc, int32_t node, int32_t *out, size_t cap);
/// Object entries: keys (pointer, length) and value ids, up to `cap`; returns the object's size.
size_t ap_object_entries(ap_doc *doc, int32_t node, const uint8_t **keys, size_t *key_lens,
                         int32_t *values, size_t cap);

/// String contents (unescaped, UTF-8). False if `node` is not a string.
bool ap_node_string(ap_doc *doc, int32_t node, const uint8_t **ptr, size_t *len);
bool ap_node_bool(ap_doc *doc, int32_t node, bool *out);
bool ap_node_int64(ap_doc *doc, int32_t node, int64_t *out);
bool ap_node_uint64(ap_doc *doc, int32_t node, uint64_t *out);
bool ap_node_double(ap_doc *doc, int32_t node, double *out);

/// Compact JSON text of any node, in a buffer owned by `doc`, valid until the
/// next call of ap_node_json or ap_doc_parse.
const uint8_t *ap_node_json(ap_doc *doc, int32_t node, size_t *len);

/// Splitting a body into its items without re-encoding them.
typedef struct ap_splitter ap_splitter;
typedef struct {
    size_t offset;   // byte offset of the item in the input
    size_t length;   // byte length of the item's raw JSON
    int type;        // ap_type of the item
} ap_span;

enum ap_split_kind {
    AP_SPLIT_ERROR = 0,
    AP_SPLIT_OBJECT = 1,     // one object: the whole input
    AP_SPLIT_LIST = 2,       // an object with an "items" array: the spans are its items
    AP_SPLIT_ARRAY = 3,      // a top-level array: the spans are its elements
    AP_SPLIT_SCALAR = 4,     // valid JSON, but neither object nor array
};

ap_splitter *ap_splitter_create(void);
void ap_splitter_destroy(ap_splitter *s);
/// Splits `data`. On AP_SPLIT_ERROR, `*error_code` is the simdjson error and
/// `*error_offset` the byte offset where it was noticed (best effort).
/// `kind_value` receives the object's "kind" string (pointer into `data` is not
/// guaranteed; copied into the splitter), for AP_SPLIT_OBJECT/LIST.
int ap_split(ap_splitter *s, const uint8_t *data, size_t len,
             const ap_span **spans, size_t *count,
             const char **kind_value, size_t *kind_len,
             int *error_code, size_t *error_offset);

#ifdef __cplusplus
}
#endif

#endif
