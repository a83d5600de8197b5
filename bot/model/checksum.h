// SHA-256 (OpenSSL EVP) of model files, as lower-case hex.
#pragma once

#include <string>
#include <string_view>

#include "connectors/util/status.h"

namespace deskbot::model {

std::string Sha256Hex(std::string_view data);
// The digest of a file's content; NotFound / IOError when it cannot be read.
util::Result<std::string> Sha256File(const std::string& path);
// Reads a whole file.
util::Result<std::string> ReadFile(const std::string& path);
// Writes a file atomically enough for model directories (write, then rename).
util::Status WriteFile(const std::string& path, std::string_view data);

}  // namespace deskbot::model
