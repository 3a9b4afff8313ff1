/* insn_count: a qemu-user TCG plugin that counts guest instructions
 * executed between marker system calls.
 *
 * Every translated block gets an inline "counter += n_insns" (no helper
 * call, so counting costs little), summed over all guest threads.  Each
 * time the guest makes the marker syscall (default getppid, aarch64 nr 173:
 * Python's os.getppid(), which nothing else in a forward pass calls) the
 * plugin writes the count since the previous marker:
 *
 *   marker 1 <count>      (instructions from start-up to the first marker)
 *   marker 2 <count>      (between markers 1 and 2: the measured region)
 *
 * Arguments: out=<file> (default stderr), nr=<syscall number>.
 * Counts are of whole blocks entered, so a block left early by a fault
 * counts fully: negligible for compute-bound code.  Not atomic: measure
 * with one compute thread.
 *
 * Build: cc -O2 -shared -fPIC -I<qemu-src>/include/qemu insn_count.c
 * (qemu-plugin.h from the qemu source of the qemu-user in use, plugin API 1
 * for qemu 7.2; build.sh fetches it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t count;
static uint64_t last;
static int64_t marker_nr = 173; /* aarch64 getppid */
static unsigned markers;
static FILE* out;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &count,
                                           qemu_plugin_tb_n_insns(tb));
}

static void syscall_cb(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8) {
  if (num != marker_nr) return;
  uint64_t now = count;
  fprintf(out, "marker %u %" PRIu64 "\n", ++markers, now - last);
  fflush(out);
  last = now;
}

static void at_exit(qemu_plugin_id_t id, void* p) {
  fprintf(out, "total %" PRIu64 "\n", count);
  if (out != stderr) fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                                           char** argv) {
  out = stderr;
  for (int i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "out=", 4) == 0) {
      out = fopen(argv[i] + 4, "w");
      if (!out) return -1;
    } else if (strncmp(argv[i], "nr=", 3) == 0) {
      marker_nr = strtoll(argv[i] + 3, NULL, 0);
    } else {
      fprintf(stderr, "insn_count: unknown argument %s\n", argv[i]);
      return -1;
    }
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
  qemu_plugin_register_vcpu_syscall_cb(id, syscall_cb);
  qemu_plugin_register_atexit_cb(id, at_exit, NULL);
  return 0;
}
