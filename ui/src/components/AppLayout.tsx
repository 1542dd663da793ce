import { Suspense, useMemo, useState } from 'react';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { Avatar, Button, Drawer, Dropdown, Grid, Layout, Menu, Space, Tag, Typography, type MenuProps } from 'antd';
import { AlertOutlined, BellOutlined, ApiOutlined, AppstoreOutlined, BranchesOutlined, DatabaseOutlined, HomeOutlined, LogoutOutlined, MenuFoldOutlined, MenuOutlined, MenuUnfoldOutlined, RiseOutlined, AimOutlined, GiftOutlined, TrophyOutlined, CheckSquareOutlined, WalletOutlined, AuditOutlined, FlagOutlined, PlayCircleOutlined, ExperimentOutlined, ProfileOutlined, BarChartOutlined } from '@ant-design/icons';
import { useAuth } from '../auth.tsx';
import { loc, useI18n } from '../i18n/index.tsx';
import { isPublished, ObjectsProvider, useObjects } from '../objects.tsx';
import { FullPageSpin } from './FullPageSpin.tsx';
import { LangSwitch } from './LangSwitch.tsx';
import { objectIcon } from './objectIcon.tsx';
import { InboxBell } from './alerts/InboxBell.tsx';
import type { MsgKey } from '../i18n/messages.ts';

const { Header, Sider, Content } = Layout;

function selectedKey(pathname: string): string {
  const rec = /^\/records\/([^/]+)/.exec(pathname);
  if (rec) return `rec:${decodeURIComponent(rec[1])}`;
  const pipe = /^\/pipelines\/([^/]+)/.exec(pathname);
  if (pipe) return `pipe:${decodeURIComponent(pipe[1])}`;
  if (pathname.startsWith('/progress')) return 'progress';
  if (pathname.startsWith('/targets')) return 'targets';
  if (pathname.startsWith('/admin/objects')) return 'admin:objects';
  if (pathname.startsWith('/admin/pipelines')) return 'admin:pipelines';
  if (pathname.startsWith('/admin/templates')) return 'admin:templates';
  if (pathname.startsWith('/leaderboard')) return 'leaderboard';
  if (pathname.startsWith('/reports')) return 'reports';
  if (pathname.startsWith('/admin/scorecards')) return 'admin:scorecards';
  const comm = /^\/commission\/([^/]+)/.exec(pathname);
  if (comm) return `comm:${comm[1]}`;
  if (pathname.startsWith('/admin/alerts')) return 'admin:alerts';
  if (pathname.startsWith('/admin/plugins')) return 'admin:plugins';
  if (pathname.startsWith('/inbox')) return 'inbox';
  return 'home';
}

function SideMenu({ onNavigate }: { onNavigate?: () => void }) {
  const { t, lang } = useI18n();
  const { isAdmin, me } = useAuth();
  const { objects, pipelines } = useObjects();
  const navigate = useNavigate();
  const location = useLocation();

  const items = useMemo<MenuProps['items']>(() => {
    const data = objects.filter(isPublished);
    const boards = pipelines.filter(isPublished);
    const list: MenuProps['items'] = [
      { key: 'progress', icon: <RiseOutlined />, label: t('nav.progress') },
      { key: 'targets', icon: <AimOutlined />, label: t('nav.targets') },
      { key: 'leaderboard', icon: <TrophyOutlined />, label: t('nav.leaderboard') },
      { key: 'reports', icon: <BarChartOutlined />, label: t('nav.reports') },
      { key: 'home', icon: <HomeOutlined />, label: t('nav.home') },
      { key: 'inbox', icon: <BellOutlined />, label: t('nav.inbox') },
      {
        type: 'group',
        key: 'g:data',
        label: t('nav.data'),
        children: data.length || boards.length
          ? [
              ...boards.map((p) => ({ key: `pipe:${p.key}`, icon: <AppstoreOutlined />, label: loc(p.label, lang) ?? p.key })),
              ...data.map((o) => ({ key: `rec:${o.key}`, icon: objectIcon(o.key), label: loc(o.label, lang) ?? o.key })),
            ]
          : [{ key: 'none', disabled: true, label: t('nav.noObjects') }],
      },
    ];
    // 提成: every signed-in user has 我的提成; approvers see the queue and disputes; admins and
    // finance run periods and what-ifs; admins edit plans.
    const roles = me?.roles ?? [];
    const approver = isAdmin || roles.includes('manager') || roles.includes('finance');
    const runner = isAdmin || roles.includes('finance');
    list.push({
      type: 'group',
      key: 'g:commission',
      label: t('nav.commission'),
      children: [
        { key: 'comm:mine', icon: <WalletOutlined />, label: t('nav.myCommission') },
        ...(approver
          ? [
              { key: 'comm:statements', icon: <AuditOutlined />, label: t('nav.commissionApprovals') },
              { key: 'comm:disputes', icon: <FlagOutlined />, label: t('nav.commissionDisputes') },
            ]
          : []),
        ...(runner
          ? [
              { key: 'comm:run', icon: <PlayCircleOutlined />, label: t('nav.commissionRun') },
              { key: 'comm:simulate', icon: <ExperimentOutlined />, label: t('nav.commissionSimulate') },
            ]
          : []),
        ...(isAdmin ? [{ key: 'comm:plans', icon: <ProfileOutlined />, label: t('nav.commissionPlans') }] : []),
      ],
    });
    if (isAdmin) {
      list.push({
        type: 'group',
        key: 'g:admin',
        label: t('nav.admin'),
        children: [
          { key: 'admin:objects', icon: <DatabaseOutlined />, label: t('nav.objects') },
          { key: 'admin:pipelines', icon: <BranchesOutlined />, label: t('nav.pipelineAdmin') },
          { key: 'admin:templates', icon: <GiftOutlined />, label: t('nav.templates') },
          { key: 'admin:scorecards', icon: <CheckSquareOutlined />, label: t('nav.scorecardAdmin') },
          { key: 'admin:alerts', icon: <AlertOutlined />, label: t('nav.alerts') },
          { key: 'admin:plugins', icon: <ApiOutlined />, label: t('nav.plugins') },
          { key: 'ext:docs', icon: <ApiOutlined />, label: t('nav.apiDocs') },
        ],
      });
    }
    return list;
  }, [objects, pipelines, isAdmin, me, t, lang]);

  const onClick: MenuProps['onClick'] = ({ key }) => {
    if (key === 'ext:docs') {
      window.open('/docs', '_blank', 'noopener');
      return;
    }
    if (key === 'home') navigate('/');
    else if (key === 'progress') navigate('/progress');
    else if (key === 'targets') navigate('/targets');
    else if (key === 'admin:objects') navigate('/admin/objects');
    else if (key === 'admin:pipelines') navigate('/admin/pipelines');
    else if (key === 'admin:templates') navigate('/admin/templates');
    else if (key === 'leaderboard') navigate('/leaderboard');
    else if (key === 'reports') navigate('/reports');
    else if (key === 'admin:scorecards') navigate('/admin/scorecards');
    else if (key.startsWith('comm:')) navigate(`/commission/${key.slice(5)}`);
    else if (key === 'admin:alerts') navigate('/admin/alerts');
    else if (key === 'admin:plugins') navigate('/admin/plugins');
    else if (key === 'inbox') navigate('/inbox');
    else if (key.startsWith('pipe:')) navigate(`/pipelines/${encodeURIComponent(key.slice(5))}/board`);
    else if (key.startsWith('rec:')) navigate(`/records/${encodeURIComponent(key.slice(4))}`);
    onNavigate?.();
  };

  return <Menu theme="dark" mode="inline" selectedKeys={[selectedKey(location.pathname)]} items={items} onClick={onClick} style={{ borderInlineEnd: 0 }} />;
}

function Logo({ collapsed }: { collapsed?: boolean }) {
  const { t } = useI18n();
  return (
    <div className="stride-logo">
      <img src="/favicon.svg" alt="" width={28} height={28} />
      {!collapsed && (
        <span>
          Stride <small>{t('app.tagline')}</small>
        </span>
      )}
    </div>
  );
}

function UserMenu({ compact }: { compact: boolean }) {
  const { me, logout } = useAuth();
  const { t } = useI18n();
  const name = me?.displayName || me?.username || '';
  const roles = (me?.roles ?? []).map((r) => {
    const key = `role.${r}` as MsgKey;
    const label = t(key);
    return label === key ? r : label;
  });
  return (
    <Dropdown
      trigger={['click']}
      menu={{
        items: [
          {
            key: 'who',
            disabled: true,
            label: (
              <div style={{ minWidth: 160 }}>
                <Typography.Text strong>{name}</Typography.Text>
                <div style={{ fontSize: 12, color: 'rgba(0,0,0,0.45)' }}>@{me?.username}</div>
                <div style={{ marginTop: 6 }}>
                  {roles.map((r) => (
                    <Tag key={r} color="blue" style={{ marginInlineEnd: 4 }}>
                      {r}
                    </Tag>
                  ))}
                </div>
              </div>
            ),
          },
          { type: 'divider' },
          { key: 'logout', icon: <LogoutOutlined />, label: t('user.logout'), onClick: () => void logout() },
        ],
      }}
    >
      <Button type="text" style={{ height: 40 }} data-testid="user-menu">
        <Space size={8}>
          <Avatar size={28} style={{ background: '#2f54eb' }}>
            {name.slice(0, 1).toUpperCase()}
          </Avatar>
          {!compact && <span>{name}</span>}
        </Space>
      </Button>
    </Dropdown>
  );
}

function Shell() {
  const screens = Grid.useBreakpoint();
  const mobile = !screens.lg;
  const [collapsed, setCollapsed] = useState(false);
  const [drawer, setDrawer] = useState(false);
  const { t } = useI18n();
  const { loading } = useObjects();

  return (
    <Layout style={{ minHeight: '100vh' }}>
      {!mobile && (
        <Sider width={224} collapsible collapsed={collapsed} onCollapse={setCollapsed} trigger={null} style={{ position: 'sticky', top: 0, height: '100vh', overflow: 'auto' }}>
          <Logo collapsed={collapsed} />
          <SideMenu />
        </Sider>
      )}
      {mobile && (
        <Drawer placement="left" open={drawer} onClose={() => setDrawer(false)} size={260} closable={false} styles={{ body: { padding: 0, background: '#0b1f44' } }}>
          <Logo />
          <SideMenu onNavigate={() => setDrawer(false)} />
        </Drawer>
      )}
      <Layout>
        <Header style={{ display: 'flex', alignItems: 'center', gap: 8, position: 'sticky', top: 0, zIndex: 10, boxShadow: '0 1px 4px rgba(0,21,41,0.08)' }}>
          {mobile ? (
            <Button type="text" icon={<MenuOutlined />} onClick={() => setDrawer(true)} aria-label={t('nav.menu')} />
          ) : (
            <Button type="text" icon={collapsed ? <MenuUnfoldOutlined /> : <MenuFoldOutlined />} onClick={() => setCollapsed(!collapsed)} aria-label={t('nav.menu')} />
          )}
          {mobile && <span style={{ fontWeight: 600 }}>Stride</span>}
          <div style={{ flex: 1 }} />
          <InboxBell />
          <LangSwitch compact={mobile} />
          <UserMenu compact={mobile} />
        </Header>
        <Content style={{ padding: mobile ? 12 : 24 }}>
          <div style={{ maxWidth: 1280, margin: '0 auto' }}>
            {loading ? (
              <FullPageSpin />
            ) : (
              <Suspense fallback={<FullPageSpin />}>
                <Outlet />
              </Suspense>
            )}
          </div>
        </Content>
      </Layout>
    </Layout>
  );
}

export function AppLayout() {
  return (
    <ObjectsProvider>
      <Shell />
    </ObjectsProvider>
  );
}
