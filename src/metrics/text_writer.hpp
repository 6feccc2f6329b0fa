#pragma once
// Prometheus text exposition format 0.0.4, written by hand: Debian 12 has no
// prometheus-cpp that fits, and a scrape needs no more than this. A family
// (HELP and TYPE lines) is started, then its samples follow; the writer
// escapes HELP text and label values, keeps each family together and
// declared once, and turns per-bucket histogram counts into the cumulative
// `le` buckets, `+Inf`, `_sum` and `_count` the format wants. Misuse (a bad
// name, a counter not ending in `_total`, a family twice, a sample outside a
// family) throws std::logic_error: names are constants in our code, so this
// is a programming error the unit tests catch.
#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lss::metrics {

enum class Type { kCounter, kGauge, kHistogram };

struct Label {
  std::string_view name, value;
};

// A histogram as the writer takes it: per-bucket counts, not cumulative.
struct Histogram {
  std::vector<double> upper_bounds;  // ascending, finite: each bucket's `le`
  // upper_bounds.size() + 1 counts: counts[i] observations in
  // (upper_bounds[i-1], upper_bounds[i]]; the last one above every bound.
  std::vector<uint64_t> counts;
  double sum = 0;  // of every observation, in the family's unit
};

class TextWriter {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // Starts family `name`: its HELP and TYPE lines. Samples written until the
  // next family() belong to it.
  void family(std::string_view name, Type type, std::string_view help);
  // One sample of the current (counter or gauge) family.
  void sample(std::initializer_list<Label> labels, double value) {
    sample(std::span<const Label>(labels.begin(), labels.size()), value);
  }
  void sample(std::span<const Label> labels, double value);
  // One labelled histogram of the current (histogram) family.
  void histogram(std::initializer_list<Label> labels, const Histogram& h) {
    histogram(std::span<const Label>(labels.begin(), labels.size()), h);
  }
  void histogram(std::span<const Label> labels, const Histogram& h);

  // A family with a single unlabelled sample.
  void counter(std::string_view name, std::string_view help, double value) {
    family(name, Type::kCounter, help);
    sample({}, value);
  }
  void gauge(std::string_view name, std::string_view help, double value) {
    family(name, Type::kGauge, help);
    sample({}, value);
  }

  const std::string& text() const { return out_; }

  // The format's pieces, public for tests.
  static bool valid_metric_name(std::string_view name);
  static bool valid_label_name(std::string_view name);
  static std::string escape_help(std::string_view text);         // \ and newline
  static std::string escape_label_value(std::string_view text);  // \, " and newline
  static std::string format_value(double v);                     // shortest; +Inf, -Inf, NaN

 private:
  void line(std::string_view name, std::string_view suffix, std::span<const Label> labels,
            const Label* extra, double value);
  void require(Type type) const;

  std::string out_;
  std::string current_;  // the family being written
  Type type_ = Type::kGauge;
  std::set<std::string, std::less<>> declared_;
};

}  // namespace lss::metrics
