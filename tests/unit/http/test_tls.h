// Throwaway certificates for tests, made with OpenSSL at test time (no files
// in the repository, nothing that expires on the shelf).
#pragma once

#include <string>
#include <vector>

namespace testing_http {

struct KeyAndCert {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed certificate authority.
KeyAndCert MakeCa(const std::string& common_name);

// A server certificate signed by `ca` for the given DNS names and IP
// addresses (subjectAltName).
KeyAndCert IssueServerCert(const KeyAndCert& ca, const std::vector<std::string>& dns_names,
                           const std::vector<std::string>& ip_addresses);

// Writes `content` to a new file under the temp directory; returns its path.
std::string WriteTempFile(const std::string& name_hint, const std::string& content);

}  // namespace testing_http
