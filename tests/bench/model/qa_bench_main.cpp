// qa_bench: `deskbot bench qa` without the rest of the CLI (no store needed).
//   qa_bench --train FILE --test FILE [--label FIELD] [--json]
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "bot/model/qa_bench.h"

int main(int argc, char** argv) {
  deskbot::model::QaBenchOptions options;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "qa_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--train") options.train_path = next();
    else if (a == "--test") options.test_path = next();
    else if (a == "--label") options.label_field = next();
    else if (a == "--json") json = true;
    else if (a == "--lexical-only") options.model.use_vectors = false;
    else if (a == "--epochs") options.model.embed.epochs = std::stoi(next());
    else if (a == "--dim") options.model.embed.dim = std::stoi(next());
    else if (a == "--no-classifier") options.model.use_classifier = false;
    else if (a == "--soft") options.model.soft_target = std::stod(next());
    else if (a == "--cbow") options.model.embed.cbow = true;
    else if (a == "--no-subwords") options.model.embed.max_subword = 0;
    else {
      std::cerr << "usage: qa_bench --train FILE --test FILE [--label FIELD] [--json]\n";
      return 2;
    }
  }
  if (options.train_path.empty() || options.test_path.empty()) {
    std::cerr << "usage: qa_bench --train FILE --test FILE [--label FIELD] [--json]\n";
    return 2;
  }
  auto result = deskbot::model::RunQaBench(options);
  if (!result.ok()) {
    std::cerr << "qa_bench: " << result.status().ToString() << "\n";
    return 1;
  }
  std::cout << result->ToText();
  if (std::getenv("QA_BENCH_VERBOSE")) std::cerr << result->report.ToJson().dump(1) << "\n";
  if (json) std::cout << result->ToJson().dump() << "\n";
  return 0;
}
