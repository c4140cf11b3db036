// librdkafka (Debian's librdkafka-dev) and its mock cluster, for Swift.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
