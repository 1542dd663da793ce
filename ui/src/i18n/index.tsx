import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { en, zhCN, type MsgKey } from './messages.ts';

/** Lang is a UI language; its values are the keys used in localized labels of definitions. */
export type Lang = 'zh-CN' | 'en';

export const LANGS: Lang[] = ['zh-CN', 'en'];
const STORAGE_KEY = 'stride.lang';

const tables: Record<Lang, Record<MsgKey, string>> = { 'zh-CN': zhCN, en };

function initialLang(): Lang {
  // zh-CN is the default whatever the browser says: Stride's users are mostly Chinese
  // companies, and a choice made with the language switch is remembered.
  const saved = localStorage.getItem(STORAGE_KEY);
  return saved === 'en' ? 'en' : 'zh-CN';
}

let activeLang: Lang = initialLang();

/** currentLang is the language in force, for code outside React (the API client's Accept-Language). */
export function currentLang(): Lang {
  return activeLang;
}

export type TFunc = (key: MsgKey, vars?: Record<string, string | number>) => string;

function translate(lang: Lang, key: MsgKey, vars?: Record<string, string | number>): string {
  const text = tables[lang][key] ?? zhCN[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

interface I18nValue {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: TFunc;
}

const I18nContext = createContext<I18nValue | null>(null);

function applyLang(lang: Lang) {
  activeLang = lang;
  dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  document.documentElement.lang = lang;
}
applyLang(activeLang);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(activeLang);
  const setLang = useCallback((next: Lang) => {
    localStorage.setItem(STORAGE_KEY, next);
    applyLang(next);
    setLangState(next);
  }, []);
  useEffect(() => {
    document.title = `Stride · ${translate(lang, 'app.tagline')}`;
  }, [lang]);
  const value = useMemo<I18nValue>(
    () => ({ lang, setLang, t: (key, vars) => translate(lang, key, vars) }),
    [lang, setLang],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18nValue {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}

/** Localized is a label as definitions carry it: a plain string or a map from language to text. */
export type Localized = string | Partial<Record<string, string>> | null | undefined;

/** loc picks the text of a localized label for lang, falling back to zh-CN, English, then any. */
export function loc(label: Localized, lang: Lang): string | undefined {
  if (label == null) return undefined;
  if (typeof label === 'string') return label;
  return label[lang] ?? label['zh-CN'] ?? label['zh'] ?? label['en'] ?? Object.values(label).find((v) => typeof v === 'string');
}
