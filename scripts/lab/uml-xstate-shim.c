/*
 * LD_PRELOAD shim for the UML 6.1 kernel on hosts with large XSAVE areas (AMX).
 *
 * UML writes a guest process's FPU state back with PTRACE_SETREGSET(NT_X86_XSTATE)
 * using its own fixed-size buffer. The host kernel only accepts a buffer of
 * exactly its full user xstate size (about 11 KiB with AMX tile data) and fails
 * with EFAULT otherwise, which kills the guest's init. This shim reads the
 * tracee's full xstate, overlays UML's (smaller) image - legacy area, XSAVE
 * header, AVX/AVX-512 parts - and writes back the full size. Guest processes
 * never enable AMX, so the components past UML's buffer stay in their init state.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned char full_xstate[65536] __attribute__((aligned(64)));

long ptrace(enum __ptrace_request request, ...) {
  static long (*real_ptrace)(enum __ptrace_request, ...);
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);
  if (!real_ptrace) real_ptrace = (long (*)(enum __ptrace_request, ...))dlsym(RTLD_NEXT, "ptrace");

  if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE && data != NULL) {
    struct iovec *mine = data;
    struct iovec full = {full_xstate, sizeof full_xstate};
    if (syscall(SYS_ptrace, PTRACE_GETREGSET, pid, addr, &full) == 0 && full.iov_len > mine->iov_len) {
      memcpy(full_xstate, mine->iov_base, mine->iov_len);
      return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, addr, &full);
    }
  }
  return real_ptrace(request, pid, addr, data);
}
