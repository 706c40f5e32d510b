// Search of the cdl docs in the browser, without network. _static/search-index.js (written by cdl_docs) sets
// window.cdlSearchIndex: every page's title and summary, its sections and its show_doc names, each with its page
// and anchor. The box in the sidebar lists the entries whose text, page title or summary holds every word typed,
// best matches first: the exact name, then names that start with it, then pages, API names, sections.
// "/" jumps to the box, Enter opens the first result, Escape clears the box.
(function () {
  'use strict';
  var box = document.getElementById('search-box');
  var list = document.getElementById('search-results');
  var index = window.cdlSearchIndex || [];
  if (!box || !list) return;
  var root = box.getAttribute('data-root') || '';
  var titles = {};
  index.forEach(function (e) { if (e.k === 'page') titles[e.p] = e.t; });
  var kinds = {page: 0, api: 1, section: 2};

  function rank(e, query, words) {
    var name = e.t.toLowerCase();
    var text = name + ' ' + (titles[e.p] || '').toLowerCase() + ' ' + (e.d || '').toLowerCase();
    for (var i = 0; i < words.length; i++) {
      if (text.indexOf(words[i]) < 0) return -1;
    }
    var where = name === query ? 0 : name.indexOf(query) === 0 ? 1 : name.indexOf(query) > 0 ? 2 : 3;
    return where * 3 + (kinds[e.k] || 0);
  }

  function item(e) {
    var li = document.createElement('li'), a = document.createElement('a');
    a.href = root + e.p + (e.a ? '#' + e.a : '');
    a.className = 'search-' + e.k;
    a.textContent = e.t;
    if (e.k !== 'page') {
      var where = document.createElement('span');
      where.className = 'search-where';
      where.textContent = titles[e.p] || e.p;
      a.appendChild(where);
    }
    li.appendChild(a);
    return li;
  }

  function show() {
    var query = box.value.trim().toLowerCase(), words = query.split(/\s+/).filter(Boolean), hits = [];
    list.textContent = '';
    list.hidden = !words.length;
    if (!words.length) return;
    index.forEach(function (e, i) {
      var r = rank(e, query, words);
      if (r >= 0) hits.push([r, i, e]);
    });
    hits.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    hits.slice(0, 30).forEach(function (h) { list.appendChild(item(h[2])); });
    if (!hits.length) {
      var none = document.createElement('li');
      none.className = 'search-none';
      none.textContent = 'No match';
      list.appendChild(none);
    }
  }

  box.addEventListener('input', show);
  box.addEventListener('keydown', function (ev) {
    var first = list.querySelector('a');
    if (ev.key === 'Enter' && first) window.location.href = first.href;
    if (ev.key === 'Escape') { box.value = ''; show(); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === '/' && document.activeElement !== box) { ev.preventDefault(); box.focus(); }
  });
})();
