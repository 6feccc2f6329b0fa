#pragma once
// Which media worker's engine a signalling request runs on. Each stream
// lives on one worker (its publisher); new streams and new viewers go to the
// least-loaded worker. Called on the control thread; the jobs run on the
// chosen worker's thread.
#include <functional>
#include <string>

#include "sfu/engine.hpp"

namespace lss::signal {

class EngineRouter {
 public:
  using Job = std::function<void(sfu::Engine&)>;
  virtual ~EngineRouter() = default;
  // The engine that has stream `name` live or reserved; for an unknown name
  // any engine (which answers "not live"). Never reserves anything, so
  // requests for made-up names leave no trace.
  virtual void run_for_stream(const std::string& name, Job job) = 0;
  // For a request that may start stream `name`: its engine if the name is
  // live or reserved there (so a duplicate gets 409, a pull a source switch),
  // else the least-loaded engine, which keeps `name` reserved until the
  // stream starts or the reservation lapses.
  virtual void run_for_new_stream(const std::string& name, Job job) = 0;
  // For a new viewer of stream `name`: the stream's engine, or the
  // least-loaded one when the stream's is clearly busier. That one serves
  // the stream through a relay (see sfu/relay_link.hpp), set up before the
  // job runs. For a name that is not live, as run_for_stream.
  virtual void run_for_viewer(const std::string& name, Job job) = 0;
  // The engine that made session `session_id` of stream `name` (ids start
  // with their worker's index), to end a publisher or a viewer.
  virtual void run_for_session(const std::string& name, const std::string& session_id, Job job) = 0;
  // Every engine; `done` runs on the control thread after the last job.
  virtual void run_on_all(Job job, std::function<void()> done) = 0;
};

}  // namespace lss::signal
