// The few lines analyze prints on stdout, read back from its report.json: the DBSCAN clusters at
// the prototype's eps (always first: scripts read it), the suggested and best eps, trustworthiness,
// classification accuracies and the held-out scores. Missing sections are left out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "nodes/measure/stages.hpp"

namespace lumaflow {

std::string analysis_summary(const nlohmann::ordered_json& report, const AnalysisOptions& opt);

// v with `digits` decimals ("0.970").
std::string fixed_digits(double v, int digits = 3);

}  // namespace lumaflow
