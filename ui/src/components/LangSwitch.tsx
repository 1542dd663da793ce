import { Button, Dropdown } from 'antd';
import { GlobalOutlined } from '@ant-design/icons';
import { LANGS, useI18n } from '../i18n/index.tsx';

export function LangSwitch({ dark, compact }: { dark?: boolean; compact?: boolean }) {
  const { lang, setLang, t } = useI18n();
  return (
    <Dropdown
      trigger={['click']}
      menu={{
        selectable: true,
        selectedKeys: [lang],
        items: LANGS.map((l) => ({ key: l, label: t(`lang.${l}`) })),
        onClick: ({ key }) => setLang(key as (typeof LANGS)[number]),
      }}
    >
      <Button type="text" icon={<GlobalOutlined />} aria-label={t('lang.label')} style={dark ? { color: 'rgba(255,255,255,0.85)' } : undefined}>
        {!compact && t(`lang.${lang}`)}
      </Button>
    </Dropdown>
  );
}
