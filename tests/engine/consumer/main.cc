#include <flowdb/engine.h>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  flowdb::Config cfg;
  cfg.data_dir = argv[1];
  auto db = flowdb::Engine::open(cfg);
  db->write_batch(std::vector<flowdb::Record>{{"k", 1, "v"}});
  auto r = db->get("k", 1);
  std::printf("%s\n", r ? r->value.c_str() : "missing");
  return r && r->value == "v" ? 0 : 1;
}
