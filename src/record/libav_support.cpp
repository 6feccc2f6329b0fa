#include "record/libav_support.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
}

#include <cstring>

namespace lss::record {

std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

lss::Status set_extradata(AVCodecParameters* par, ByteSpan data) {
  if (data.empty()) return {};
  par->extradata = static_cast<uint8_t*>(av_mallocz(data.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!par->extradata) return make_error("out of memory");
  std::memcpy(par->extradata, data.data(), data.size());
  par->extradata_size = int(data.size());
  return {};
}

}  // namespace lss::record
