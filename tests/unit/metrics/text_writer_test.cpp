// The exposition writer against the text format 0.0.4 rules: HELP/TYPE per
// family, escaping, cumulative histogram buckets with +Inf, _sum and _count.
#include "metrics/text_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lss::metrics {
namespace {

TEST(TextWriter, CounterAndGaugeFamilies) {
  TextWriter w;
  w.counter("lss_uploads_failed_total", "Uploads that failed.", 3);
  w.gauge("lss_streams", "Live streams.", 1);
  EXPECT_EQ(w.text(),
            "# HELP lss_uploads_failed_total Uploads that failed.\n"
            "# TYPE lss_uploads_failed_total counter\n"
            "lss_uploads_failed_total 3\n"
            "# HELP lss_streams Live streams.\n"
            "# TYPE lss_streams gauge\n"
            "lss_streams 1\n");
}

TEST(TextWriter, LabelledSamplesStayInTheirFamily) {
  TextWriter w;
  w.family("lss_peers", Type::kGauge, "Peers by role.");
  w.sample({{"role", "publisher"}}, 1);
  w.sample({{"role", "viewer"}}, 2);
  w.family("lss_http_requests_total", Type::kCounter, "Requests.");
  w.sample({{"route", "/whip/"}, {"status", "201"}}, 4);
  EXPECT_EQ(w.text(),
            "# HELP lss_peers Peers by role.\n"
            "# TYPE lss_peers gauge\n"
            "lss_peers{role=\"publisher\"} 1\n"
            "lss_peers{role=\"viewer\"} 2\n"
            "# HELP lss_http_requests_total Requests.\n"
            "# TYPE lss_http_requests_total counter\n"
            "lss_http_requests_total{route=\"/whip/\",status=\"201\"} 4\n");
}

TEST(TextWriter, EscapesLabelValues) {
  EXPECT_EQ(TextWriter::escape_label_value(R"(a"b\c)"
                                           "\n"
                                           "d"),
            R"(a\"b\\c\nd)");
  TextWriter w;
  w.family("x", Type::kGauge, "h");
  w.sample({{"path", "C:\\dir \"q\"\nnext"}}, 1);
  EXPECT_NE(w.text().find("x{path=\"C:\\\\dir \\\"q\\\"\\nnext\"} 1\n"), std::string::npos)
      << w.text();
}

TEST(TextWriter, EscapesHelpTextButNotQuotes) {
  EXPECT_EQ(TextWriter::escape_help("a \"quoted\" back\\slash\nline"),
            "a \"quoted\" back\\\\slash\\nline");
  TextWriter w;
  w.gauge("g", "two\nlines \\ here", 0);
  EXPECT_EQ(w.text(), "# HELP g two\\nlines \\\\ here\n# TYPE g gauge\ng 0\n");
}

TEST(TextWriter, FormatsValues) {
  EXPECT_EQ(TextWriter::format_value(0), "0");
  EXPECT_EQ(TextWriter::format_value(12345678901234.0), "12345678901234");
  EXPECT_EQ(TextWriter::format_value(12e9), "12000000000");  // not 1.2e+10
  EXPECT_EQ(TextWriter::format_value(-3), "-3");
  EXPECT_EQ(TextWriter::format_value(1e300), "1e+300");
  EXPECT_EQ(TextWriter::format_value(0.25), "0.25");
  EXPECT_EQ(TextWriter::format_value(1e-06), "1e-06");
  EXPECT_EQ(TextWriter::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(TextWriter::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(TextWriter::format_value(std::nan("")), "NaN");
}

TEST(TextWriter, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  TextWriter w;
  w.family("lss_forwarding_latency_seconds", Type::kHistogram, "Latency.");
  // 2 at most 1 ms, 3 in (1 ms, 4 ms], none in (4 ms, 0.5 s], 1 above.
  w.histogram({}, Histogram{{0.001, 0.004, 0.5}, {2, 3, 0, 1}, 0.75});
  EXPECT_EQ(w.text(),
            "# HELP lss_forwarding_latency_seconds Latency.\n"
            "# TYPE lss_forwarding_latency_seconds histogram\n"
            "lss_forwarding_latency_seconds_bucket{le=\"0.001\"} 2\n"
            "lss_forwarding_latency_seconds_bucket{le=\"0.004\"} 5\n"
            "lss_forwarding_latency_seconds_bucket{le=\"0.5\"} 5\n"
            "lss_forwarding_latency_seconds_bucket{le=\"+Inf\"} 6\n"
            "lss_forwarding_latency_seconds_sum 0.75\n"
            "lss_forwarding_latency_seconds_count 6\n");
}

TEST(TextWriter, LabelledHistogramPutsLeLast) {
  TextWriter w;
  w.family("h_seconds", Type::kHistogram, "h");
  w.histogram({{"worker", "0"}}, Histogram{{1}, {0, 0}, 0});
  EXPECT_NE(w.text().find("h_seconds_bucket{worker=\"0\",le=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(w.text().find("h_seconds_bucket{worker=\"0\",le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(w.text().find("h_seconds_sum{worker=\"0\"} 0\n"), std::string::npos);
  EXPECT_NE(w.text().find("h_seconds_count{worker=\"0\"} 0\n"), std::string::npos);
}

TEST(TextWriter, EmptyHistogramHasOnlyInf) {
  TextWriter w;
  w.family("e_seconds", Type::kHistogram, "h");
  w.histogram({}, Histogram{{}, {7}, 1.5});
  EXPECT_EQ(w.text(),
            "# HELP e_seconds h\n# TYPE e_seconds histogram\n"
            "e_seconds_bucket{le=\"+Inf\"} 7\ne_seconds_sum 1.5\ne_seconds_count 7\n");
}

TEST(TextWriter, Names) {
  EXPECT_TRUE(TextWriter::valid_metric_name("lss_bytes_total"));
  EXPECT_TRUE(TextWriter::valid_metric_name("ns:sub_metric"));
  EXPECT_FALSE(TextWriter::valid_metric_name(""));
  EXPECT_FALSE(TextWriter::valid_metric_name("1abc"));
  EXPECT_FALSE(TextWriter::valid_metric_name("a-b"));
  EXPECT_TRUE(TextWriter::valid_label_name("role"));
  EXPECT_FALSE(TextWriter::valid_label_name("a:b"));
  EXPECT_FALSE(TextWriter::valid_label_name("__reserved"));
}

TEST(TextWriter, RefusesMisuse) {
  TextWriter w;
  EXPECT_THROW(w.sample({}, 1), std::logic_error);  // no family yet
  EXPECT_THROW(w.family("bad-name", Type::kGauge, "h"), std::logic_error);
  EXPECT_THROW(w.family("lss_bytes", Type::kCounter, "h"), std::logic_error);  // no _total
  w.family("g", Type::kGauge, "h");
  EXPECT_THROW(w.family("g", Type::kGauge, "h"), std::logic_error);  // twice
  EXPECT_THROW(w.sample({{"bad-label", "v"}}, 1), std::logic_error);
  EXPECT_THROW(w.histogram({}, Histogram{{}, {0}, 0}), std::logic_error);  // not a histogram
  w.family("h_seconds", Type::kHistogram, "h");
  EXPECT_THROW(w.sample({}, 1), std::logic_error);                             // not a plain sample
  EXPECT_THROW(w.histogram({}, Histogram{{1, 2}, {0}, 0}), std::logic_error);  // counts
  EXPECT_THROW(w.histogram({}, Histogram{{2, 1}, {0, 0, 0}, 0}), std::logic_error);
  EXPECT_THROW(w.histogram({{"le", "x"}}, Histogram{{}, {0}, 0}), std::logic_error);
}

}  // namespace
}  // namespace lss::metrics
