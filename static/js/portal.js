// Small progressive enhancements; the pages work without them. No inline scripts (CSP).
document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy-target="id">
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const target = document.getElementById(button.dataset.copyTarget);
      if (!target) return;
      const text = target.value || target.textContent;
      try {
        await navigator.clipboard.writeText(text.trim());
        button.textContent = "Copied";
      } catch (e) {
        target.select && target.select();
      }
    });
  });
  // Live regions refreshed from a JSON endpoint: <div data-poll-url="..." data-poll-interval="1000">
  document.querySelectorAll("[data-poll-url]").forEach((region) => {
    const interval = parseInt(region.dataset.pollInterval || "1500", 10);
    const tick = async () => {
      try {
        const response = await fetch(region.dataset.pollUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) return setTimeout(tick, interval * 2);
        const data = await response.json();
        Object.entries(data.fields || {}).forEach(([name, value]) => {
          region.querySelectorAll(`[data-field="${name}"]`).forEach((el) => {
            if (el.tagName === "PROGRESS") el.value = value; else el.textContent = value;
          });
        });
        if (data.done) {
          if (data.reload) window.location.reload();
          return;
        }
      } catch (e) { /* network hiccup: try again */ }
      setTimeout(tick, interval);
    };
    setTimeout(tick, interval);
  });
});
