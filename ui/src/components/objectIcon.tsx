import type { ReactNode } from 'react';
import {
  AimOutlined,
  AppstoreOutlined,
  ContactsOutlined,
  EnvironmentOutlined,
  FileTextOutlined,
  FundOutlined,
  MoneyCollectOutlined,
  ShoppingCartOutlined,
  TeamOutlined,
} from '@ant-design/icons';

const ICONS: Array<[RegExp, ReactNode]> = [
  [/deal|opportunit|商机/i, <FundOutlined />],
  [/customer|account|client|客户/i, <TeamOutlined />],
  [/contact|联系人/i, <ContactsOutlined />],
  [/visit|拜访/i, <EnvironmentOutlined />],
  [/payment|receipt|回款|invoice/i, <MoneyCollectOutlined />],
  [/order|订单/i, <ShoppingCartOutlined />],
  [/target|goal|目标/i, <AimOutlined />],
  [/contract|合同/i, <FileTextOutlined />],
];

/** objectIcon picks a menu icon for an object from its key. */
export function objectIcon(key: string): ReactNode {
  for (const [re, icon] of ICONS) if (re.test(key)) return icon;
  return <AppstoreOutlined />;
}
