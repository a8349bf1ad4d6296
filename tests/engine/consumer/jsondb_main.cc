#include <flowdb/jsondb.h>

#include <cstdio>

// Stores one document through the installed flowdb::jsondb and reads it back.
int main(int argc, char** argv) {
  if (argc != 2) return 2;
  flowdb::Config cfg;
  cfg.data_dir = argv[1];
  auto db = flowdb::jsondb::JsonDB::open(cfg);
  db->create_object_store("notes");
  db->put("notes", boost::json::value{{"text", "v"}}, boost::json::value("k"));
  auto doc = db->get("notes", boost::json::value("k"));
  const bool ok = doc && doc->is_object() && doc->as_object().at("text") == "v";
  std::printf("%s\n", ok ? "v" : "missing");
  db->close();
  return ok ? 0 : 1;
}
