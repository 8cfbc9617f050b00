#pragma once
// The report's sections, one file each; the page (page.cpp) puts them together.
#include <string>

#include "melon/report/report.hpp"

namespace melon::report {

struct Section {
  std::string id, heading, body;  // body: HTML
};

// A section that could not be drawn: its heading and why.
Section unavailable(std::string id, std::string heading, const std::string& why);

Section scores_section(const ReportInputs& in);
Section training_section(const ReportInputs& in);
Section pca_section(const ReportInputs& in);
Section reranker_section(const ReportInputs& in);
Section run_section(const ReportInputs& in);

std::string page(const std::string& title, const std::string& subtitle, const std::vector<Section>& sections);

}  // namespace melon::report
