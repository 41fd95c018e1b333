/** Set-up for the DOM test project: IndexedDB (fake-indexeddb, in memory) and React's act(). */
import "fake-indexeddb/auto";

// Tells React that tests wrap updates in act(), so it warns about any that escape.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
