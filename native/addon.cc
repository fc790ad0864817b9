// scsi-pr native layer: system calls only, no SCSI knowledge.
//
//   openDevice(path, readWrite) -> fd                 open(2) with O_NONBLOCK|O_CLOEXEC
//   closeDevice(fd)                                   close(2)
//   sgVersion(fd) -> number                           ioctl(SG_GET_VERSION_NUM); throws ENOTTY if not sg
//   new SgPoller(fd, onResults)                       uv_poll on an sg fd for its whole life
//     .write(packId, cdb, dir, data, sense, ms)       write(2) of an sg_io_hdr (sg v3 async submit)
//     .close()                                        stop polling; call before closeDevice
//   sgIo(fd, cdb, dir, data, sense, ms) -> Promise    ioctl(SG_IO) on the libuv thread pool
//   sgReset(fd, value) -> Promise                    ioctl(SG_SCSI_RESET) on the libuv thread pool
//   ioctlBuffer(fd, request, arg, data, offset)      ioctl(fd, request, arg) on the libuv thread pool, after
//     -> Promise<number>                             writing data's address (u64) into arg at offset;
//                                                    resolves with the ioctl's return value (>= 0)
//   rebootNow()                                      reboot(2) RB_AUTOBOOT at once, no sync(2); returns only by throwing
//
// Failed system calls throw/reject like Node's fs: Error with code, errno (negative), syscall, path.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <fcntl.h>
#include <scsi/sg.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <unistd.h>

namespace {

// Newer than glibc's <scsi/sg.h> (the kernel's uapi header has them since 3.x).
#ifndef SG_SCSI_RESET_TARGET
#define SG_SCSI_RESET_TARGET 4
#endif
#ifndef SG_SCSI_RESET_NO_ESCALATE
#define SG_SCSI_RESET_NO_ESCALATE 0x100
#endif

constexpr int kMaxCdb = 16;
constexpr int kMaxSense = 96;

Napi::Error SyscallError(Napi::Env env, int err, const char* syscall, const std::string& path = "") {
  std::string msg = std::string(uv_err_name(-err)) + ": " + uv_strerror(-err) + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

Napi::Object ResultObject(Napi::Env env, const sg_io_hdr_t& h) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("packId", h.pack_id);
  r.Set("status", h.status);
  r.Set("hostStatus", h.host_status);
  r.Set("driverStatus", h.driver_status);
  r.Set("senseLength", h.sb_len_wr);
  r.Set("resid", h.resid);
  r.Set("durationMs", h.duration);
  r.Set("info", h.info);
  return r;
}

// Fills an sg_io_hdr from JS arguments (cdb, dir, data, sense, timeoutMs) starting at argument `i`.
// Returns false (with a pending JS exception) on bad arguments.
bool FillHeader(const Napi::CallbackInfo& info, size_t i, sg_io_hdr_t& h, unsigned char* cdbCopy) {
  Napi::Env env = info.Env();
  if (!info[i].IsBuffer() || !info[i + 1].IsNumber() || !info[i + 3].IsBuffer() || !info[i + 4].IsNumber() ||
      !(info[i + 2].IsBuffer() || info[i + 2].IsNull())) {
    Napi::TypeError::New(env, "expected (cdb: Buffer, dir: number, data: Buffer|null, sense: Buffer, timeoutMs: number)")
        .ThrowAsJavaScriptException();
    return false;
  }
  auto cdb = info[i].As<Napi::Buffer<unsigned char>>();
  auto sense = info[i + 3].As<Napi::Buffer<unsigned char>>();
  if (cdb.Length() < 6 || cdb.Length() > kMaxCdb || sense.Length() == 0 || sense.Length() > kMaxSense) {
    Napi::RangeError::New(env, "cdb must be 6..16 bytes and sense 1..96 bytes").ThrowAsJavaScriptException();
    return false;
  }
  std::memset(&h, 0, sizeof h);
  h.interface_id = 'S';
  h.dxfer_direction = info[i + 1].As<Napi::Number>().Int32Value();
  std::memcpy(cdbCopy, cdb.Data(), cdb.Length());
  h.cmdp = cdbCopy;
  h.cmd_len = static_cast<unsigned char>(cdb.Length());
  if (info[i + 2].IsBuffer()) {
    auto data = info[i + 2].As<Napi::Buffer<unsigned char>>();
    h.dxferp = data.Data();
    h.dxfer_len = static_cast<unsigned int>(data.Length());
  } else {
    h.dxfer_direction = SG_DXFER_NONE;
  }
  h.sbp = sense.Data();
  h.mx_sb_len = static_cast<unsigned char>(sense.Length());
  h.timeout = info[i + 4].As<Napi::Number>().Uint32Value();
  return true;
}

Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsBoolean()) {
    Napi::TypeError::New(env, "expected (path: string, readWrite: boolean)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  int flags = (info[1].As<Napi::Boolean>() ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC;
  int fd = open(path.c_str(), flags);
  if (fd < 0) {
    SyscallError(env, errno, "open", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

Napi::Value CloseDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (close(info[0].As<Napi::Number>().Int32Value()) < 0 && errno != EINTR) {
    SyscallError(env, errno, "close").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value SgVersion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int version = 0;
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), SG_GET_VERSION_NUM, &version) < 0) {
    SyscallError(env, errno, "ioctl").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, version);
}

// Owns the uv_poll watcher of one sg fd. The watcher is started once and stays in epoll for the
// fd's lifetime; it only keeps the event loop alive (uv_ref) while commands are outstanding.
// Every completion is read(2) exactly once: the read loop stops when no command is outstanding,
// so a command costs one write(2), its share of one epoll wait, and one read(2).
class SgPoller : public Napi::ObjectWrap<SgPoller> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SgPoller",
                       {InstanceMethod("write", &SgPoller::Write), InstanceMethod("close", &SgPoller::Close)});
  }

  explicit SgPoller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SgPoller>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "expected (fd: number, onResults: function)").ThrowAsJavaScriptException();
      return;
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "scsi-pr:SgPoller");
    handle_ = new uv_poll_t;
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    int rc = uv_poll_init(loop, handle_, fd_);
    if (rc == 0) rc = uv_poll_start(handle_, UV_READABLE, OnReadable);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      SyscallError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
      return;
    }
    handle_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
    Ref();  // the handle can call back until close()
  }

  ~SgPoller() override { CloseHandle(); }

 private:
  // write(packId, cdb, dir, data, sense, timeoutMs): submit one command. The data and sense
  // buffers are written by the kernel when the result is read(2): the caller keeps them alive.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!handle_) {
      SyscallError(env, EBADF, "write").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sg_io_hdr_t h;
    unsigned char cdb[kMaxCdb];
    if (!info[0].IsNumber()) {
      Napi::TypeError::New(env, "expected (packId, cdb, dir, data, sense, timeoutMs)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!FillHeader(info, 1, h, cdb)) return env.Undefined();
    h.pack_id = info[0].As<Napi::Number>().Int32Value();
    ssize_t n;
    do {
      n = write(fd_, &h, sizeof h);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      SyscallError(env, errno, "write").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!polling_) {
      int rc = uv_poll_start(handle_, UV_READABLE, OnReadable);
      if (rc != 0) {
        SyscallError(env, -rc, "uv_poll_start").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      polling_ = true;
    }
    if (outstanding_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
    return env.Undefined();
  }

  // Stops watching and releases the uv handle; call before closing the fd.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseHandle();
    return info.Env().Undefined();
  }

  void CloseHandle() {
    if (!handle_) return;
    uv_poll_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    handle_ = nullptr;
    outstanding_ = 0;
    Unref();
    // Nothing calls back after close: drop the callback too. It is a strong reference, and the
    // callback's closure usually holds the JS object that holds this poller, so keeping it would
    // root both forever (every closed channel leaked until exit).
    callback_.Reset();
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<SgPoller*>(handle->data);
    if (self) self->Drain(status);
  }

  void Drain(int pollStatus) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array results = Napi::Array::New(env);
    uint32_t count = 0;
    Napi::Value error = env.Null();
    if (pollStatus < 0) {
      error = SyscallError(env, -pollStatus, "poll").Value();
      polling_ = false;  // libuv stopped the watcher
    } else if (outstanding_ == 0) {
      // Readable with nothing outstanding: a hang-up (device detached). Pause the watcher so
      // level-triggered epoll does not spin; the next write restarts it (and fails with ENODEV).
      uv_poll_stop(handle_);
      polling_ = false;
      return;
    } else {
      while (outstanding_ > 0) {
        sg_io_hdr_t h;
        std::memset(&h, 0, sizeof h);
        h.interface_id = 'S';
        h.pack_id = -1;
        ssize_t n = read(fd_, &h, sizeof h);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          if (errno != EAGAIN) error = SyscallError(env, errno, "read").Value();
          break;
        }
        results.Set(count++, ResultObject(env, h));
        if (--outstanding_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
      }
    }
    if (count > 0 || !error.IsNull()) {
      // MakeCallback runs the microtask queue afterwards: promise continuations of the
      // completed commands run now, not at some later tick.
      callback_.MakeCallback(Value(), {error, results}, *context_);
      if (env.IsExceptionPending()) {
        // A throw from the callback has no JS caller to go to: report it like any uncaught exception.
        Napi::Error e = env.GetAndClearPendingException();
        napi_fatal_exception(env, e.Value());
      }
    }
  }

  int fd_ = -1;
  bool polling_ = true;
  uint32_t outstanding_ = 0;
  uv_poll_t* handle_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// SG_IO ioctl on the libuv thread pool, for devices without an sg node (e.g. /dev/sdX with
// CAP_SYS_RAWIO). Buffers are referenced until the worker completes.
class SgIoWorker : public Napi::AsyncWorker {
 public:
  SgIoWorker(Napi::Env env, int fd, Napi::Object dataRef, Napi::Object senseRef)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd) {
    if (!dataRef.IsEmpty()) data_ = Napi::Persistent(dataRef);
    sense_ = Napi::Persistent(senseRef);
  }

  sg_io_hdr_t header{};
  unsigned char cdb[kMaxCdb]{};
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int rc;
    do {
      rc = ioctl(fd_, SG_IO, &header);
    } while (rc < 0 && errno == EINTR);
    err_ = rc < 0 ? errno : 0;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(SyscallError(env, err_, "ioctl").Value());
    } else {
      deferred_.Resolve(ResultObject(env, header));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int err_ = 0;
  Napi::ObjectReference data_;
  Napi::ObjectReference sense_;
};

Napi::Value SgIo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) {
    Napi::TypeError::New(env, "expected (fd, ...)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object data = info[3].IsBuffer() ? info[3].As<Napi::Object>() : Napi::Object();
  auto* worker = new SgIoWorker(env, info[0].As<Napi::Number>().Int32Value(), data,
                                info[4].IsBuffer() ? info[4].As<Napi::Object>() : Napi::Object::New(env));
  if (!FillHeader(info, 1, worker->header, worker->cdb)) {
    delete worker;
    return env.Undefined();
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// SG_SCSI_RESET blocks until the reset (and any escalation) is done: run it on the thread pool.
class SgResetWorker : public Napi::AsyncWorker {
 public:
  SgResetWorker(Napi::Env env, int fd, int value)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd), value_(value) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int value = value_;
    int rc;
    do {
      rc = ioctl(fd_, SG_SCSI_RESET, &value);
    } while (rc < 0 && errno == EINTR);
    err_ = rc < 0 ? errno : 0;
  }

  void OnOK() override {
    if (err_ != 0) {
      deferred_.Reject(SyscallError(Env(), err_, "ioctl").Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int value_;
  int err_ = 0;
};

Napi::Value SgReset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "expected (fd, value)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new SgResetWorker(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Any ioctl whose argument is one caller-built struct, optionally holding a pointer to a second
// buffer (linux/pr.h IOC_PR_READ_KEYS' keys_ptr, an NVMe passthrough command's addr). The caller
// knows the layout; this only places the pointer and keeps both buffers alive until completion.
class IoctlBufferWorker : public Napi::AsyncWorker {
 public:
  IoctlBufferWorker(Napi::Env env, int fd, unsigned long request, Napi::Buffer<unsigned char> arg, Napi::Object dataRef)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd), request_(request),
        argp_(arg.Data()) {
    arg_ = Napi::Persistent(arg.As<Napi::Object>());
    if (!dataRef.IsEmpty()) data_ = Napi::Persistent(dataRef);
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    int rc;
    do {
      rc = ioctl(fd_, request_, argp_);
    } while (rc < 0 && errno == EINTR);
    rc_ = rc;
    err_ = rc < 0 ? errno : 0;
  }

  void OnOK() override {
    if (rc_ < 0) {
      deferred_.Reject(SyscallError(Env(), err_, "ioctl").Value());
    } else {
      deferred_.Resolve(Napi::Number::New(Env(), rc_));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  unsigned long request_;
  void* argp_;
  int rc_ = 0;
  int err_ = 0;
  Napi::ObjectReference arg_;
  Napi::ObjectReference data_;
};

Napi::Value IoctlBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBuffer() ||
      !(info[3].IsBuffer() || info[3].IsNull()) || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "expected (fd: number, request: number, arg: Buffer, data: Buffer|null, dataPointerOffset: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Request numbers are unsigned long; _IOR/_IOWR ones exceed 2^31, so no Int32Value().
  double request = info[1].As<Napi::Number>().DoubleValue();
  if (!(request >= 0 && request <= 9007199254740991.0) || std::trunc(request) != request) {
    Napi::RangeError::New(env, "request must be a non-negative safe integer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto arg = info[2].As<Napi::Buffer<unsigned char>>();
  Napi::Object dataRef;
  if (info[3].IsBuffer()) {
    auto data = info[3].As<Napi::Buffer<unsigned char>>();
    double offset = info[4].As<Napi::Number>().DoubleValue();
    if (!(offset >= 0) || std::trunc(offset) != offset || offset + 8 > static_cast<double>(arg.Length())) {
      Napi::RangeError::New(env, "dataPointerOffset must be an integer with dataPointerOffset + 8 <= arg.length")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint64_t address = reinterpret_cast<uintptr_t>(data.Data());
    std::memcpy(arg.Data() + static_cast<size_t>(offset), &address, sizeof address);
    dataRef = data.As<Napi::Object>();
  }
  auto* worker = new IoctlBufferWorker(env, info[0].As<Napi::Number>().Int32Value(),
                                       static_cast<unsigned long>(static_cast<uint64_t>(request)), arg, dataRef);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// reboot(2) with RB_AUTOBOOT (LINUX_REBOOT_CMD_RESTART), like fence-agents' fence_scsi_check_hardreboot
// (libc.reboot(0x1234567)). Deliberately no sync(2) first: it can block for good on I/O to fenced or
// queueing (no_path_retry queue) devices, which is why a hard reboot is wanted at all. On the JS thread:
// nothing else should run once this is called. Returns only by throwing (EPERM without CAP_SYS_BOOT).
Napi::Value RebootNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (reboot(RB_AUTOBOOT) < 0) {
    SyscallError(env, errno, "reboot").ThrowAsJavaScriptException();
  } else {
    Napi::Error::New(env, "reboot(2) returned 0 without rebooting").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice));
  exports.Set("closeDevice", Napi::Function::New(env, CloseDevice));
  exports.Set("sgVersion", Napi::Function::New(env, SgVersion));
  exports.Set("sgIo", Napi::Function::New(env, SgIo));
  exports.Set("sgReset", Napi::Function::New(env, SgReset));
  exports.Set("ioctlBuffer", Napi::Function::New(env, IoctlBuffer));
  exports.Set("rebootNow", Napi::Function::New(env, RebootNow));
  exports.Set("SgPoller", SgPoller::Define(env));
  Napi::Object dir = Napi::Object::New(env);
  dir.Set("NONE", SG_DXFER_NONE);
  dir.Set("TO_DEV", SG_DXFER_TO_DEV);
  dir.Set("FROM_DEV", SG_DXFER_FROM_DEV);
  exports.Set("DXFER", dir);
  exports.Set("SG_MAX_QUEUE", SG_MAX_QUEUE);
  Napi::Object reset = Napi::Object::New(env);
  reset.Set("NOTHING", SG_SCSI_RESET_NOTHING);
  reset.Set("DEVICE", SG_SCSI_RESET_DEVICE);
  reset.Set("BUS", SG_SCSI_RESET_BUS);
  reset.Set("HOST", SG_SCSI_RESET_HOST);
  reset.Set("TARGET", SG_SCSI_RESET_TARGET);
  reset.Set("NO_ESCALATE", SG_SCSI_RESET_NO_ESCALATE);
  exports.Set("SG_SCSI_RESET", reset);
  return exports;
}

}  // namespace

NODE_API_MODULE(scsi_pr, Init)
