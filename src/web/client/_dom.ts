/**
 * DOM helpers both pages use.
 *
 * @module
 */

/**
 * The page's element with this id. The page's HTML (`src/web/_chat_page.ts`,
 * `src/web/_monitor_page.ts`) holds every id its script asks for: a missing one is a mistake
 * between the two, reported by name at once rather than as a null dereference later.
 *
 * @param id The element's id.
 * @returns The element, typed as the caller expects it to be.
 * @throws {Error} When the page has no element with that id.
 */
export function byId<T extends Element = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`The page has no element with id "${id}"`);
  return element as Element as T;
}

/**
 * Makes an element with a class and a text, and appends it to a parent.
 *
 * @param parent Where it goes, last.
 * @param tag The element's tag name.
 * @param className Its class attribute; none when empty.
 * @param text Its text; none when undefined.
 * @returns The new element.
 */
export function append<K extends keyof HTMLElementTagNameMap>(
  parent: Node,
  tag: K,
  className = "",
  text?: string | number,
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = String(text);
  parent.appendChild(element);
  return element;
}
