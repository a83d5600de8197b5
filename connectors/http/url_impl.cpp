// Boost.URL compiled once (it is not header-only in Boost 1.81). Kept alone in
// this file so that if another library also compiles it, the linker pulls only
// one copy from the static libraries.
#include <boost/url/src.hpp>
