#include "metrics/text_writer.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace lss::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon)) return false;
  }
  return true;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

bool TextWriter::valid_metric_name(std::string_view name) {
  return valid_name(name, true);
}

// Names starting with "__" are reserved for Prometheus itself.
bool TextWriter::valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";
}

std::string TextWriter::escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string TextWriter::escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string TextWriter::format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Counts as integers (to_chars would write 12000000000 as 1.2e+10); exact
  // below 2^53, and far beyond what a counter reaches.
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    const auto r = std::to_chars(buf, buf + sizeof buf, int64_t(v));
    return std::string(buf, r.ptr);
  }
  // Shortest text that reads back as the same double (Go's ParseFloat, as
  // Prometheus uses, takes every form to_chars writes: 5, 0.25, 1e-06).
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void TextWriter::family(std::string_view name, Type type, std::string_view help) {
  if (!valid_metric_name(name)) throw std::logic_error("bad metric name: " + std::string(name));
  if (type == Type::kCounter && !name.ends_with("_total")) {
    throw std::logic_error("a counter's name ends in _total: " + std::string(name));
  }
  if (!declared_.emplace(name).second) {
    throw std::logic_error("metric family written twice: " + std::string(name));
  }
  current_ = name;
  type_ = type;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void TextWriter::require(Type type) const {
  if (current_.empty()) throw std::logic_error("a sample before any family");
  if ((type == Type::kHistogram) != (type_ == Type::kHistogram)) {
    throw std::logic_error("sample of the wrong kind for family " + current_);
  }
}

void TextWriter::line(std::string_view name, std::string_view suffix, std::span<const Label> labels,
                      const Label* extra, double value) {
  out_ += name;
  out_ += suffix;
  if (!labels.empty() || extra) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!valid_label_name(l.name)) {
        throw std::logic_error("bad label name: " + std::string(l.name));
      }
      if (!first) out_ += ',';
      first = false;
      out_ += l.name;
      out_ += "=\"";
      out_ += escape_label_value(l.value);
      out_ += '"';
    };
    for (const Label& l : labels) put(l);
    if (extra) put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void TextWriter::sample(std::span<const Label> labels, double value) {
  require(Type::kGauge);
  line(current_, "", labels, nullptr, value);
}

void TextWriter::histogram(std::span<const Label> labels, const Histogram& h) {
  require(Type::kHistogram);
  if (h.counts.size() != h.upper_bounds.size() + 1) {
    throw std::logic_error("histogram of " + current_ + ": counts must be bounds + 1");
  }
  for (const Label& l : labels) {
    if (l.name == "le") throw std::logic_error("histogram label 'le' is the format's own");
  }
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.upper_bounds.size(); ++i) {
    if (!std::isfinite(h.upper_bounds[i]) || (i > 0 && h.upper_bounds[i] <= h.upper_bounds[i - 1]))
      throw std::logic_error("histogram of " + current_ + ": bounds must ascend and be finite");
    cumulative += h.counts[i];
    const std::string le = format_value(h.upper_bounds[i]);
    const Label bound{"le", le};
    line(current_, "_bucket", labels, &bound, double(cumulative));
  }
  cumulative += h.counts.back();
  const Label inf{"le", "+Inf"};
  line(current_, "_bucket", labels, &inf, double(cumulative));
  line(current_, "_sum", labels, nullptr, h.sum);
  line(current_, "_count", labels, nullptr, double(cumulative));
}

}  // namespace lss::metrics
