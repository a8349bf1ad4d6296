// MergingIterator: merges several sorted InternalIterators into one sorted
// stream (duplicates across children are all returned, newest first since
// internal keys order by sequence descending).
#pragma once

#include <memory>
#include <vector>

#include "iterator.h"

namespace flowdb {

std::unique_ptr<InternalIterator> new_merging_iterator(
    std::vector<std::unique_ptr<InternalIterator>> children);

}  // namespace flowdb
