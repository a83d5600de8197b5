#include "bot/sources/harvest.h"

namespace deskbot {

util::Result<HarvestReport> Harvest(TicketSource& source, Store& store,
                                    const HarvestOptions& options) {
  HarvestReport report;
  report.source = source.name();
  const std::string what = "harvest " + source.name();
  // Said with an error, so the operator knows nothing stored was lost.
  auto stored_so_far = [&report]() -> std::string {
    if (report.pages == 0) return "";
    return " (pages 1-" + std::to_string(report.pages) + " with " +
           std::to_string(report.tickets()) +
           " tickets are stored; the next harvest resumes after them)";
  };

  std::optional<std::string> cursor;
  if (options.resume) {
    auto saved = store.GetCursor(source.name());
    if (!saved.ok()) return saved.status().WithContext(what);
    cursor = *saved;
  }

  for (;;) {
    const std::string page_what = what + ": page " + std::to_string(report.pages + 1);
    auto page = source.NextPage(cursor);
    if (!page.ok()) return util::Status(page.status().WithContext(page_what + stored_so_far()));

    auto before = store.CountTickets();
    if (!before.ok()) return before.status().WithContext(page_what);
    const auto& save = options.save_cursor ? page->next_cursor : std::optional<std::string>();
    util::Status st = store.UpsertTickets(source.name(), page->tickets, save);
    if (!st.ok()) return st.WithContext(page_what + stored_so_far());
    auto after = store.CountTickets();
    if (!after.ok()) return after.status().WithContext(page_what);

    const std::int64_t added = *after - *before;
    report.pages += 1;
    report.tickets_new += added;
    report.tickets_updated += static_cast<std::int64_t>(page->tickets.size()) - added;
    report.skipped += page->skipped;
    for (auto& r : page->rejects) report.rejects.push_back(std::move(r));
    if (options.on_page) options.on_page(report);

    if (page->done) break;
    // A page that read nothing and did not move the cursor would repeat forever.
    if (page->tickets.empty() && page->rejects.empty() && page->skipped == 0 &&
        page->next_cursor == cursor)
      return util::Status::Internal(page_what + ": the source made no progress");
    cursor = page->next_cursor;
  }
  return report;
}

}  // namespace deskbot
