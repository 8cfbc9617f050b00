#include <sstream>
#include <vector>

#include "melon/report/svg.hpp"
#include "sections.hpp"

namespace melon::report {

Section unavailable(std::string id, std::string heading, const std::string& why) {
  return {std::move(id), std::move(heading), "<p class=\"na\">not available: " + escape(why) + "</p>\n"};
}

std::string page(const std::string& title, const std::string& subtitle, const std::vector<Section>& sections) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>" << escape(title)
    << "</title><style>\n"
    << "body{font-family:sans-serif;margin:24px auto;max-width:1180px;color:#222;background:#fafafa}\n"
    << "h1{margin-bottom:4px}.sub{color:#666;margin-top:0}nav a{margin-right:14px}\n"
    << "section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 20px 16px;margin:18px 0}\n"
    << "figure.plot{display:inline-block;margin:8px 12px 8px 0;vertical-align:top}\n"
    << "table{border-collapse:collapse;font-size:13px;margin:10px 0}"
    << "th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f0f0f0}"
    << "td:first-child,th:first-child{text-align:left}\n"
    << ".na{color:#a33;font-style:italic}.note{color:#555;font-size:13px}\n"
    << "details summary{cursor:pointer;color:#335;margin:6px 0}\n"
    << "</style></head><body>\n<h1>" << escape(title) << "</h1><p class=\"sub\">" << escape(subtitle) << "</p>\n<nav>";
  for (auto& s : sections) o << "<a href=\"#" << escape(s.id) << "\">" << escape(s.heading) << "</a>";
  o << "</nav>\n";
  for (auto& s : sections)
    o << "<section id=\"" << escape(s.id) << "\"><h2>" << escape(s.heading) << "</h2>\n" << s.body << "</section>\n";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace melon::report
