// zlib (Debian's zlib1g-dev), for gzip-encoded webhook bodies.
#include <zlib.h>
